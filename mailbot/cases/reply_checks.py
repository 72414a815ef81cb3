"""What a reasoned reply to a regulated complaint must hold, as data, and the check of a reply
against it (issue 33, item 5; ARERA RQSII art. 10 and TQRIF: the reply's minimum content).

`ELEMENTS` is the one place the rule lives: each element, its name for the operator (Italian,
English) and the cue phrases whose presence in the reply's text counts as the element being
there. A cue matches at the start of a word, case and accents ignored ("art." is not "part.").
What the letter itself adds counts as present: the relay's footer names the case number
(templates/*/relay.*: the reference to the complaint) and, when the office has one, its
responsible (the person to contact). The list of attachments is asked only of a reply that
carries some: naming each file, or an "Allegati" line, lists them.

`gaps` says which elements a reply lacks, `[]` when the case is not a regulated one
(`[charter.reply_checks]`, config/reply_checks.py) or nothing is missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from mailbot.cases import desk, staff
from mailbot.models import WorkOrder
from mailbot.replies.compose import signer
from mailbot.services import Services
from mailbot.types import Attachment


@dataclass(frozen=True)
class Element:
    id: str
    it: str  # how the operator's notice names it
    en: str
    cues: tuple[str, ...]  # any one of them, in the reply's text, is the element
    heading_it: str  # its heading in the reply template (templates/*/reasoned_reply.txt.j2)
    heading_en: str

    def name(self, language: str) -> str:
        return self.it if language == "it" else self.en


ELEMENTS: tuple[Element, ...] = (
    Element(
        "reference", "il riferimento al reclamo (numero, data)",
        "the reference to the complaint (number, date)",
        ("vostro reclamo", "suo reclamo", "sua segnalazione", "reclamo del", "reclamo n",
         "riferimento", "pratica n", "your complaint", "complaint of", "reference"),
        "Riferimento al reclamo", "Reference to the complaint",
    ),
    Element(
        "contact", "il referente da contattare", "the person to contact",
        ("referente", "contattare", "contattarci", "potra rivolgersi", "puo rivolgersi",
         "responsabile del procedimento", "telefono", "tel.", "contact", "phone"),
        "Referente da contattare", "Person to contact",
    ),
    Element(
        "assessment", "la valutazione con le norme o le clausole contrattuali applicate",
        "the assessment with the rules or contract clauses applied",
        ("art.", "artt.", "articolo", "regolamento", "carta del servizio", "carta dei servizi",
         "contratto", "contrattual", "clausol", "delibera", "ai sensi", "normativa", "d.lgs",
         "legge", "article", "regulation", "clause", "contract", "service charter",
         "pursuant to"),
        "Valutazione e norme o clausole applicate", "Assessment and rules or clauses applied",
    ),
    Element(
        "actions", "le azioni correttive e i loro tempi", "the corrective actions and their timing",
        ("azioni correttive", "azione correttiva", "entro il", "entro i", "entro la",
         "provvederemo", "interverremo", "nessuna azione", "corrective action", "remedial",
         "no action", "we will"),
        "Azioni correttive e tempi", "Corrective actions and timing",
    ),
    Element(
        "attachments", "l'elenco degli allegati", "the list of attachments",
        ("allegat", "si allega", "attachments", "attached",
         "enclosed"),
        "Elenco degli allegati", "List of attachments",
    ),
)  # fmt: skip
BY_ID = {e.id: e for e in ELEMENTS}


def fold(text: str) -> str:
    """Lower case without accents: "potrà" reads as "potra", "Può" as "puo"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def has_cue(text: str, cues: Iterable[str]) -> bool:
    folded = fold(text)
    return any(re.search(r"(?<!\w)" + re.escape(fold(cue)), folded) for cue in cues)


def missing(text: str, attachments: Sequence[str] = (), provided: Iterable[str] = ()) -> list[str]:
    """The ids of the elements `text` lacks, in `ELEMENTS`' order. `attachments`: the reply's
    file names (none: no list is needed); `provided`: what the letter adds by itself."""
    given = set(provided)
    found = []
    for element in ELEMENTS:
        if element.id in given:
            continue
        listed = all(fold(name) in fold(text) for name in attachments)
        if element.id == "attachments" and (not attachments or listed):
            continue
        if not has_cue(text, element.cues):
            found.append(element.id)
    return found


def applies(services: Services, work_order: WorkOrder) -> bool:
    """A regulated complaint: checked replies (`[charter.reply_checks]`)."""
    charter = services.settings.charter
    regulated = charter.reply_checks.active(charter.indemnity.profile, charter.requests.profile)
    return regulated and (work_order.kind in charter.reply_checks.kinds)


def provided_by_letter(services: Services, session: Session, work_order: WorkOrder) -> set[str]:
    """What the relayed letter says by itself: the case number (always), the office's
    responsible when it has one (templates/*/relay.*)."""
    office = desk.signing_office(services.settings, work_order)
    given = {"reference"}
    if signer(office, staff.directory(services, session)):
        given.add("contact")
    return given


def gaps(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> list[str]:
    """What the reply `text` (with `attachments`) lacks for this case: [] when it
    lacks nothing or the case's replies are not checked."""
    if not applies(services, work_order):
        return []
    names_ = [a.filename for a in attachments if not a.inline]
    return missing(text, names_, provided_by_letter(services, session, work_order))


def names(ids: Iterable[str], language: str) -> list[str]:
    """The elements as the operator reads them."""
    return [BY_ID[i].name(language) for i in ids]


def headings(language: str) -> list[str]:
    """The reply template's headings (templates/*/reasoned_reply.txt.j2 lists them too)."""
    return [e.heading_it if language == "it" else e.heading_en for e in ELEMENTS]
