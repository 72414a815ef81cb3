"""A reminder (sollecito) that carries no thread reference: which open case it continues.

ARERA's texts say reminders received within the term are not new requests. A reply to what we
sent threads by its references, its plus-address token or the `[Pratica N]` tag (replies/
threading.py) and joins its case whatever the profile. This is the next step, taken only when
`[charter.requests] join_reminders` is on (the regulated profiles): a mail from a case's own
contact, with none of those, that
- names one of the contact's cases by its number (`2026/000123`, in the subject or the first
  lines of the text), or
- has the subject of one of the contact's open cases once `Re:`, `R:`, `I:`, `Fwd:`,
  `Sollecito:` and the like are taken off (a subject of at least two words: "Reclamo" alone
  cannot tell two requests apart), or
- has a subject that is only a reminder word ("Sollecito", "Secondo sollecito", "Reminder")
  and the contact has exactly one open case (with two or more it cannot tell which: a new
  request)
continues that case (the most recent one). The classifier trusts it only from the contact and
without a failing DMARC/DKIM/SPF verdict (ingest/classify.py); the case records the mail as a
reminder (`work_order.reminder`) and its term runs on from the first receipt.
"""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from mailbot.cases.workorders import CLOSED
from mailbot.models import Contact, WorkOrder
from mailbot.replies import threading
from mailbot.services import Services
from mailbot.types import ParsedMessage

VIA = "reminder"
_NUMBER = re.compile(r"(?<![\d/])(\d{4}/\d{6})(?![\d/])")
_PREFIXES = re.compile(
    r"^(?:\s*(?:r|re|i|fw|fwd|aw|wg|tr|rif|sv|vs|antw|odp|enc|res|reminder|follow[- ]?up|"
    r"(?:(?:primo|secondo|terzo|ultimo|ulteriore|nuovo)\s+)?sollecito)\s*[:\-\u2013]\s*)*",
    re.IGNORECASE,
)
TEXT_WINDOW = 2000  # a number quoted far below (our own confirmation) is not what it names
MIN_WORDS = 2
_REMINDER_WORDS = (
    r"(?:(?:primo|secondo|terzo|ultimo|ulteriore|nuovo)\s+)?(?:sollecito|reminder|follow[- ]?up)"
)
_REMINDER_ONLY = re.compile(_REMINDER_WORDS + r"[\s:.!\-\u2013]*", re.IGNORECASE)


def core_subject(subject: str) -> str:
    """The subject without reply, forward and reminder prefixes or our tag, folded."""
    tagless = re.sub(r"\[Pratica \d{4}/\d{6}\]", " ", subject, flags=re.IGNORECASE)
    return " ".join(_PREFIXES.sub("", tagless.strip()).casefold().split())


def reminder_only(subject: str) -> bool:
    """Whether the subject says nothing but "this is a reminder" ("Sollecito", "R: Secondo
    sollecito", "Sollecito:")."""
    core = core_subject(subject)
    if not core:  # every word was a prefix: was one of them a reminder's?
        return re.search(_REMINDER_WORDS, subject, re.IGNORECASE) is not None
    return _REMINDER_ONLY.fullmatch(core) is not None


def resolve(
    services: Services, session: Session, msg: ParsedMessage, channel: str
) -> threading.ThreadRef | None:
    """The sender's case this unthreaded mail continues, when the profile joins reminders;
    None otherwise (a new request). What an operator types in (`workorders open`) is always
    the new request they mean it to be."""
    joins = services.settings.charter.requests.join_reminders
    if not joins or channel != "email" or msg.sender is None:
        return None
    contact_id = session.exec(select(Contact.id).where(Contact.email == msg.sender.email)).first()
    if contact_id is None:
        return None
    cases = select(WorkOrder).where(
        WorkOrder.contact_id == contact_id, col(WorkOrder.voided_at).is_(None)
    )
    named = _NUMBER.findall(f"{msg.subject}\n{msg.text[:TEXT_WINDOW]}")
    if named:
        found = session.exec(cases.where(col(WorkOrder.number).in_(named))).first()
        if found is not None:
            return _ref(found)
    recent = cases.where(WorkOrder.status != CLOSED).order_by(col(WorkOrder.id).desc())
    if reminder_only(msg.subject):
        open_cases = session.exec(recent.limit(2)).all()
        return _ref(open_cases[0]) if len(open_cases) == 1 else None
    core = core_subject(msg.subject)
    if len(core.split()) < MIN_WORDS:
        return None
    for work_order in session.exec(recent):
        if core_subject(work_order.subject) == core:
            return _ref(work_order)
    return None


def _ref(work_order: WorkOrder) -> threading.ThreadRef:
    assert work_order.id is not None
    return threading.ThreadRef(work_order.id, work_order.number, VIA, to_operators=False)
