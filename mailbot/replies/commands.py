"""Commands an operator writes on the first lines of a reply, removed before relaying:

    #nota            the reply is an internal note: recorded, never sent to the citizen
    #risposta        the reply is the charter's reasoned reply; the case stays open
    #chiudi          close the case after relaying the reply (with a text: the reasoned reply)
    #assegna UFFICIO hand the case to another office (the text goes with it as a note)
    #sospendi MOTIVO ask the citizen for more information; the clock stops until they answer
    #riapri          reopen a closed case
    #categoria ID    set the case's category (and so its service-charter term)
    #proroga GIORNI MOTIVO  extend the term; the citizen is told why and until when
    #protocollo N    record the protocol number the correspondence was registered under
    #tipo TIPO       reclamo, suggerimento, segnalazione or rimborso (richiesta di rimborso)
    #esito ESITO     fondato, infondato or parziale
    #soluzione [entro GG/MM/AAAA] TESTO   the solution, and the date it is promised by
    #azione TESTO    a corrective action the case led to (listed by `mailbot actions`)

Only a reply with #risposta or #chiudi counts as the reasoned reply the charter's term is
about: a question (#sospendi) or an interim message does not stop the clock.

Anything else starting with "#" on those lines is an error: nothing is relayed and the operator
gets a short explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMAND = re.compile(r"^#(?P<name>[A-Za-zÀ-ÿ_]+)\b[ \t]*(?P<arg>.*)$")
KNOWN = {
    "nota": "",
    "chiudi": "",
    "riapri": "",
    "assegna": "UFFICIO",
    "sospendi": "MOTIVO",
    "categoria": "CATEGORIA",
    "proroga": "GIORNI MOTIVO",
    "protocollo": "NUMERO",
    "risposta": "",
    "tipo": "TIPO",
    "esito": "ESITO",
    "soluzione": "TESTO",
    "azione": "TESTO",
}


def extension(arg: str) -> tuple[int, str] | None:
    """`#proroga 15 servono verifiche tecniche` → (15, "servono verifiche tecniche")."""
    days, _, reason = arg.partition(" ")
    if not days.isdigit() or not 1 <= int(days) <= 365 or not reason.strip():
        return None
    return int(days), reason.strip()


# What is wrong with an operator's message, in the operator's language (the notice by
# email) and in English (the command line).
MESSAGES = {
    "invalid": {"it": "comando non valido: {0!r}", "en": "not a command: {0!r}"},
    "unknown": {"it": "comando sconosciuto: #{0}", "en": "unknown command: #{0}"},
    "needs": {"it": "#{0} richiede {1}", "en": "#{0} needs {1}"},
    "exclusive": {
        "it": "#chiudi, #riapri e #sospendi non possono stare insieme",
        "en": "#chiudi, #riapri and #sospendi cannot go together",
    },
    "no_office": {"it": "#assegna: nessun ufficio {0!r}", "en": "#assegna: no office {0!r}"},
    "no_category": {
        "it": "#categoria: nessuna categoria {0!r} (disponibili: {1})",
        "en": "#categoria: no category {0!r} (known: {1})",
    },
    "extension": {
        "it": "#proroga richiede i giorni (1-365) e il motivo: #proroga 15 MOTIVO",
        "en": "#proroga needs the days (1-365) and the reason: #proroga 15 REASON",
    },
    "answer_question": {
        "it": "#risposta e #sospendi non possono stare insieme: una domanda non è la risposta",
        "en": "#risposta and #sospendi cannot go together: a question is not the answer",
    },
    "answer_text": {
        "it": "#risposta richiede il testo della risposta al cittadino",
        "en": "#risposta needs the text of the answer to the citizen",
    },
    "no_kind": {
        "it": "#tipo: {0!r} non è un tipo (reclamo, suggerimento, segnalazione, rimborso)",
        "en": "#tipo: {0!r} is not a kind (reclamo, suggerimento, segnalazione, rimborso)",
    },
    "no_outcome": {
        "it": "#esito: {0!r} non è un esito (fondato, infondato, parziale)",
        "en": "#esito: {0!r} is not an outcome (fondato, infondato, parziale)",
    },
    "solution": {
        "it": "#soluzione richiede il testo: #soluzione entro 30/04/2026 TESTO (data facoltativa)",
        "en": "#soluzione needs the text, the date optional: #soluzione entro 30/04/2026 TEXT",
    },
    "empty": {
        "it": "la risposta è vuota: niente da inviare al cittadino",
        "en": "the reply is empty: nothing to send to the citizen",
    },
}


@dataclass(frozen=True)
class Problem:
    key: str
    args: tuple[str, ...] = ()

    def text(self, language: str) -> str:
        catalogue = MESSAGES[self.key]
        return catalogue.get(language, catalogue["en"]).format(*self.args)


@dataclass(frozen=True)
class Command:
    name: str
    arg: str


@dataclass(frozen=True)
class Parsed:
    commands: tuple[Command, ...]
    body: str
    errors: tuple[Problem, ...]

    def has(self, name: str) -> Command | None:
        return next((c for c in self.commands if c.name == name), None)


def parse(text: str) -> Parsed:
    lines = text.splitlines()
    commands: list[Command] = []
    errors: list[Problem] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        found = _COMMAND.match(line)
        if not line.startswith("#"):
            break
        index += 1
        if found is None:
            errors.append(Problem("invalid", (line,)))
            continue
        name, arg = found["name"].lower(), found["arg"].strip()
        if name not in KNOWN:
            errors.append(Problem("unknown", (name,)))
        elif KNOWN[name] and not arg:
            errors.append(Problem("needs", (name, KNOWN[name])))
        else:
            commands.append(Command(name, arg))
    body = "\n".join(lines[index:]).strip()
    names = {c.name for c in commands}
    if len(names & {"chiudi", "riapri", "sospendi"}) > 1:
        errors.append(Problem("exclusive"))
    if {"risposta", "sospendi"} <= names:
        errors.append(Problem("answer_question"))
    return Parsed(tuple(commands), body, tuple(errors))
