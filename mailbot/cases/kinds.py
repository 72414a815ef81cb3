"""What kind of written request a case is, and the term that kind has (issue 33, item 1).

The term: a category's own `[[offices.terms]]` first, then an office's explicit
`response_days`, then the `[charter.requests]` profile's term for the kind
(config/requests.py), else the office's default term. The municipal profile has no terms of its
own, so its cases keep the office's term exactly as before.

The classification rule of ARERA's texts: when the kind is unclear, the request is a complaint.
Mail has no field saying what it is, so under a regulated profile (`classify`) the cue phrases
below may say a mail to a complaints mailbox is a request for information or to correct a bill:
only when the cues of exactly one such kind are found and no complaint cue is; anything else
(no cue, cues of two kinds, a complaint's or a disservice's words beside them) stays a
complaint. A word that only asks to correct ("rettifica") is a bill correction's cue only with
a bill word near it. What the web
form, the counter and the other mailboxes take in is the mailbox's `kind`; an operator changes
any case's kind with `#tipo`, and the term follows.
"""

from __future__ import annotations

import re
from dataclasses import replace

from mailbot.config import OfficeSettings, RequestSettings, Term
from mailbot.config.requests import BILL_CORRECTION, COMPLAINT, INFORMATION

# kind → phrases (Italian and English), found as whole words, case and accents as written.
CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (BILL_CORRECTION, (
        "rettifica della bolletta", "rettifica della fattura", "bolletta errata",
        "bolletta sbagliata", "fattura errata", "fattura sbagliata", "conguaglio errato",
        "errore in bolletta", "errore nella bolletta", "errore di fatturazione",
        "errata fatturazione", "doppia fatturazione", "importo errato", "consumi errati",
        "lettura errata", "wrong bill", "incorrect bill", "billing error", "bill correction",
        "correct my bill", "overcharged",
    )),
    (INFORMATION, (
        "richiesta di informazioni", "richiesta informazioni", "chiedo informazioni",
        "vorrei informazioni", "vorrei sapere", "desidero sapere", "vorrei conoscere",
        "chiedo di sapere", "request for information", "information request",
        "i would like to know", "could you tell me",
    )),
    (COMPLAINT, (
        "reclamo", "reclamare", "lamentela", "mi lamento", "protesto", "disservizio",
        "inaccettabile", "vergognoso", "complaint", "complain", "unacceptable",
        # A disservice is a complaint, however politely it asks ("vorrei sapere quando…").
        "rotto", "rotta", "rotti", "rotte", "guasto", "guasta", "guasti", "non funziona",
        "non funzionano", "non funzionante", "mancata raccolta", "mancato ritiro",
        "mancato svuotamento", "ritardo", "in ritardo", "broken", "not working", "out of order",
    )),
)  # fmt: skip
# Words that ask to correct something: a bill correction's cue only with a bill word at most
# NEAR words before or after them ("rettifica dell'importo", "la bolletta da rettificare"),
# not "rettifica dell'indirizzo" or "rettificare il codice fiscale".
CORRECTING = ("rettifica", "rettificare", "rettificata", "rettificato", "correzione", "correggere")
BILL_WORDS = frozenset((
    "bolletta", "bollette", "fattura", "fatture", "fatturazione", "conguaglio", "conguagli",
    "addebito", "addebiti", "importo", "importi", "lettura", "letture", "consumi", "consumo",
    "tari", "tariffa", "avviso", "canone", "bill", "invoice",
))  # fmt: skip
NEAR = 3
CLASSIFIED_CHANNELS = ("email", "pec")  # the other doors say what they take in
TEXT_WINDOW = 3000  # what a request asks is said first; a long quote below is not the request


def term_for(
    office: OfficeSettings, category: str | None, kind: str, requests: RequestSettings
) -> Term:
    """The term of a case of `category` and `kind` in `office` (see the module's docstring)."""
    if category and category in office.terms:
        return office.terms[category]
    term = office.term(None)
    found = None if office.explicit_term else requests.term_of(kind)
    return term if found is None else replace(term, days=found.days, working_days=found.working)


def cues_in(text: str) -> dict[str, str]:
    """kind → the first of its cue phrases the text has."""
    folded = _words(text)
    found: dict[str, str] = {}
    for kind, phrases in CUES:
        cue = next((p for p in phrases if _words(p) in folded), None)
        if cue is not None:
            found[kind] = cue
    if BILL_CORRECTION not in found and (cue := _correcting_a_bill(folded.split())):
        found[BILL_CORRECTION] = cue
    return found


def _correcting_a_bill(words: list[str]) -> str | None:
    """The correcting word that has a bill word near it, None when none has."""
    for i, word in enumerate(words):
        if word in CORRECTING and BILL_WORDS.intersection(words[max(0, i - NEAR) : i + NEAR + 1]):
            return word
    return None


def classify(
    subject: str, text: str, *, mailbox_kind: str, channel: str, requests: RequestSettings
) -> tuple[str, str]:
    """(kind, the cue that decided it, "" when none did) of a new request."""
    if not requests.classify or channel not in CLASSIFIED_CHANNELS or mailbox_kind != COMPLAINT:
        return mailbox_kind, ""
    found = cues_in(f"{subject}\n{text[:TEXT_WINDOW]}")
    if COMPLAINT in found or len(found) != 1:
        return COMPLAINT, ""  # unclear: a complaint
    [(kind, cue)] = found.items()
    return kind, cue


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "
