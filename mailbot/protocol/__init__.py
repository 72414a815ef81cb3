"""The protocol register (DPR 445/2000 art. 53): what a case hands to the administration's
protocol system. Today: the case's protocol number recorded by hand (`#protocollo`, in
cases/workorders.py) and the `Segnatura.xml` of a case's incoming document per AgID's
guidelines, annex 6: `documents` gathers the facts, `segnatura` writes the XML, `seal` applies
the AOO's XAdES seal (the one module that imports signxml and lxml). `adapter` is the register
adapter interface and the command adapter (a program the admin names, `[protocol] adapter =
"command"`); `submission` gathers the documents and metadata it is given. When and how often it
runs is mailbot/cases/registration.py's (never inside a message's intake).

A stage: it reads the foundation (models, storage, config) and nothing above it, so the cases'
registration pass can call an adapter.
"""
