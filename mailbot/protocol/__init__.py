"""The protocol register (DPR 445/2000 art. 53): what a case hands to the administration's
protocol system. Today: the case's protocol number recorded by hand (`#protocollo`, in
cases/workorders.py) and the `Segnatura.xml` of a case's incoming document per AgID's
guidelines, annex 6: `documents` gathers the facts, `segnatura` writes the XML, `seal` applies
the AOO's XAdES seal (the one module that imports signxml and lxml). Adapters that register by
themselves (a command the admin names) will live here too.

A stage: it reads the foundation (models, storage, config) and nothing above it, so intake can
call a register adapter later.
"""
