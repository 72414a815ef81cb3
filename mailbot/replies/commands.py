"""Commands an operator writes on the first lines of a reply, removed before relaying. The
table `COMMANDS` is the one place they are listed: the parser reads it, and the office's
notification and the operator's notices teach it line by line (`help_lines`).

A relayed reply is the charter's reasoned reply by default (an operator who never learns a
command cannot leave an answered case late): only `#interlocutoria` (an interim message) and
`#sospendi` (a question; the clock stops) are relayed without counting. `#interlocutoria` alone,
in answer to the notice that says a reply was recorded as the reasoned reply, takes that back.

Anything else starting with "#" on those lines is an error: nothing is relayed and the operator
gets a short explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """One command: its argument's placeholder and one line of help, Italian and English."""

    name: str
    arg_it: str
    arg_en: str
    help_it: str
    help_en: str

    def usage(self, language: str) -> str:
        arg = self.arg_it if language == "it" else self.arg_en
        return f"#{self.name} {arg}".strip()

    def help(self, language: str) -> str:
        return self.help_it if language == "it" else self.help_en


COMMANDS: tuple[Spec, ...] = (
    Spec("risposta", "", "",
         "è la risposta motivata (lo è già ogni risposta)",
         "this is the reasoned reply (any reply is, by default)"),
    Spec("interlocutoria", "", "",
         "interlocutoria: inviata, ma non è la risposta motivata",
         "interim: sent, but not the reasoned reply"),
    Spec("invia", "", "",
         "invia la risposta anche se le mancano elementi richiesti (da sola: quella trattenuta)",
         "send the reply though it lacks required elements (alone: the one held)"),
    Spec("nota", "", "",
         "nota interna, mai inviata al cittadino",
         "internal note, never sent to the citizen"),
    Spec("chiudi", "", "",
         "chiude la pratica dopo l'invio della risposta",
         "close the case after sending the reply"),
    Spec("riapri", "", "",
         "riapre una pratica chiusa",
         "reopen a closed case"),
    Spec("assegna", "UFFICIO [MOTIVO]", "OFFICE [REASON]",
         "passa la pratica a un altro ufficio, con gli allegati e il motivo (facoltativo)",
         "hand the case to another office, with its attachments and the reason (optional)"),
    Spec("sospendi", "MOTIVO", "REASON",
         "chiede altre informazioni, sospende i termini",
         "ask for more information, stop the clock"),
    Spec("riprendi", "", "",
         "riprende i termini di una pratica sospesa (le informazioni sono arrivate per altra via)",
         "resume a suspended case's clock (the information came another way)"),
    Spec("categoria", "CATEGORIA", "CATEGORY",
         "imposta la categoria (e quindi il termine)",
         "set the category (and so the term)"),
    Spec("proroga", "GIORNI MOTIVO", "DAYS REASON",
         "proroga il termine, dicendo perché al cittadino",
         "extend the term, telling the citizen why"),
    Spec("protocollo", "NUMERO", "NUMBER",
         "registra il numero di protocollo",
         "record the protocol number"),
    Spec("tipo", "TIPO", "KIND",
         "reclamo, suggerimento, segnalazione, rimborso, informazioni, rettifica",
         "reclamo, suggerimento, segnalazione, rimborso, informazioni, rettifica"),
    Spec("esito", "ESITO", "OUTCOME",
         "fondato, infondato o parziale",
         "fondato, infondato or parziale"),
    Spec("soluzione", "[entro GG/MM/AAAA] TESTO", "[entro DD/MM/YYYY] TEXT",
         "la soluzione, e la data promessa",
         "the solution, and the date promised"),
    Spec("azione", "TESTO", "TEXT",
         "un'azione correttiva nata dalla pratica",
         "a corrective action the case led to"),
    Spec("causa", "CAUSA", "CAUSE",
         "perché il termine è stato mancato: forza-maggiore, cliente-terzi o gestore",
         "why the term was missed: forza-maggiore, cliente-terzi or gestore"),
    Spec("incompleto", "[no]", "[no]",
         "il reclamo manca dei dati minimi: nessun indennizzo (#incompleto no lo annulla)",
         "the complaint lacks the minimum data: no indemnity (#incompleto no undoes it)"),
)  # fmt: skip
_COMMAND = re.compile(r"^#(?P<name>[A-Za-zÀ-ÿ_]+)\b[ \t]*(?P<arg>.*)$")
# name → what its argument needs, "" for none (the Italian placeholder, as errors show it);
# what is in [brackets] may be left out.
KNOWN = {spec.name: re.sub(r"\[[^]]*\]", "", spec.arg_it).strip() for spec in COMMANDS}


def help_lines(language: str) -> list[tuple[str, str]]:
    """(usage, one line of help) for every command, in `language`: what the templates list."""
    return [(spec.usage(language), spec.help(language)) for spec in COMMANDS]


def extension(arg: str) -> tuple[int, str] | None:
    """`#proroga 15 servono verifiche tecniche` → (15, "servono verifiche tecniche")."""
    days, _, reason = arg.partition(" ")
    if not days.isdigit() or not 1 <= int(days) <= 365 or not reason.strip():
        return None
    return int(days), reason.strip()


def assignment(arg: str) -> tuple[str, str]:
    """`#assegna tributi è una questione di TARI` → ("tributi", "è una questione di TARI")."""
    office, _, reason = arg.strip().partition(" ")
    return office, reason.strip()


# What is wrong with an operator's message, in the operator's language (the notice by
# email) and in English (the command line).
MESSAGES = {
    "invalid": {"it": "comando non valido: {0!r}", "en": "not a command: {0!r}"},
    "unknown": {"it": "comando sconosciuto: #{0}", "en": "unknown command: #{0}"},
    "needs": {"it": "#{0} richiede {1}", "en": "#{0} needs {1}"},
    "exclusive": {
        "it": "#chiudi, #riapri, #sospendi e #riprendi non possono stare insieme",
        "en": "#chiudi, #riapri, #sospendi and #riprendi cannot go together",
    },
    "no_office": {"it": "#assegna: nessun ufficio {0!r}", "en": "#assegna: no office {0!r}"},
    "same_office": {
        "it": "#assegna: la pratica è già dell'ufficio {0!r}",
        "en": "#assegna: the case is already office {0!r}'s",
    },
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
    "interim_answer": {
        "it": "#interlocutoria non può stare con #risposta o #chiudi: un messaggio interlocutorio "
        "non è la risposta motivata",
        "en": "#interlocutoria cannot go with #risposta or #chiudi: an interim message is not "
        "the reasoned reply",
    },
    "nothing_to_undo": {
        "it": "#interlocutoria da sola annulla la risposta motivata registrata, ma questa pratica "
        "non ne ha; per un messaggio interlocutorio scrivetene il testo sotto il comando",
        "en": "#interlocutoria alone takes back a recorded reasoned reply, but this case has "
        "none; for an interim message write its text below the command",
    },
    "closed_undo": {
        "it": "la pratica è chiusa: la sua risposta motivata resta (riapritela con #riapri)",
        "en": "the case is closed: its reasoned reply stays (reopen it with #riapri)",
    },
    "answer_text": {
        "it": "#risposta richiede il testo della risposta al cittadino",
        "en": "#risposta needs the text of the answer to the citizen",
    },
    "no_kind": {
        "it": "#tipo: {0!r} non è un tipo (reclamo, suggerimento, segnalazione, rimborso, "
        "informazioni, rettifica)",
        "en": "#tipo: {0!r} is not a kind (reclamo, suggerimento, segnalazione, rimborso, "
        "informazioni, rettifica)",
    },
    "no_outcome": {
        "it": "#esito: {0!r} non è un esito (fondato, infondato, parziale)",
        "en": "#esito: {0!r} is not an outcome (fondato, infondato, parziale)",
    },
    "solution": {
        "it": "#soluzione richiede il testo: #soluzione entro 30/04/2026 TESTO (data facoltativa)",
        "en": "#soluzione needs the text, the date optional: #soluzione entro 30/04/2026 TEXT",
    },
    "no_cause": {
        "it": "#causa: {0!r} non è una causa (forza-maggiore, cliente-terzi, gestore)",
        "en": "#causa: {0!r} is not a cause (forza-maggiore, cliente-terzi, gestore)",
    },
    "incomplete": {
        "it": "#incompleto: scrivete #incompleto, oppure #incompleto no per annullarlo",
        "en": "#incompleto: write #incompleto, or #incompleto no to undo it",
    },
    "not_suspended": {
        "it": "#riprendi: la pratica non è sospesa",
        "en": "#riprendi: the case is not suspended",
    },
    "nothing_held": {
        "it": "#invia da sola invia la risposta trattenuta, ma questa pratica non ne ha",
        "en": "#invia alone sends the held reply, but this case has none",
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
    if len(names & {"chiudi", "riapri", "sospendi", "riprendi"}) > 1:
        errors.append(Problem("exclusive"))
    if {"risposta", "sospendi"} <= names:
        errors.append(Problem("answer_question"))
    if "interlocutoria" in names and names & {"risposta", "chiudi"}:
        errors.append(Problem("interim_answer"))
    return Parsed(tuple(commands), body, tuple(errors))
