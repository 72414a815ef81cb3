"""Why a case's term was missed, and whether its complaint lacked the minimum data: what the
indemnity rules (`[charter.indemnity]`, config/indemnity.py) exclude.

ARERA's register records a cause on every late case: force majeure, a cause attributable to the
user or a third party, or one attributable to the operator. The office says it with
`#causa forza-maggiore|cliente-terzi|gestore` (or `workorders cause`), and marks a complaint
without the minimum data with `#incompleto` (`workorders incomplete`). When the profile excludes
what was said, a late-reply indemnity still due is withdrawn with the reason; when the case's
facts owe it again (the cause corrected), it falls due again (cases/refunds.py).
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.cases import refunds
from mailbot.cases.workorders import case_event
from mailbot.config import Settings
from mailbot.config.indemnity import CAUSE_NAMES, CAUSE_NAMES_EN, CAUSES
from mailbot.models import WorkOrder

# What an office may type for each cause (Italian first), after folding "_" and " " to "-".
_ALIASES = {
    "forza-maggiore": "force_majeure",
    "force-majeure": "force_majeure",
    "cliente-terzi": "user_or_third_party",
    "cliente": "user_or_third_party",
    "utente": "user_or_third_party",
    "terzi": "user_or_third_party",
    "user-or-third-party": "user_or_third_party",
    "user": "user_or_third_party",
    "gestore": "operator",
    "operator": "operator",
}
WORDS = "forza-maggiore, cliente-terzi, gestore"


def cause_of(word: str) -> str | None:
    """The cause a word names (`forza-maggiore`, `cliente-terzi`, `gestore`, or the English
    ids), None when it names none."""
    folded = "-".join(word.strip().lower().replace("_", " ").split())
    return _ALIASES.get(folded)


def cause_name(cause: str, language: str = "it") -> str:
    """How people read a cause: "forza maggiore", "causa imputabile al gestore"…"""
    names = CAUSE_NAMES if language == "it" else CAUSE_NAMES_EN
    return names.get(cause, "")


def set_cause(
    session: Session, work_order: WorkOrder, cause: str, actor: str, settings: Settings
) -> None:
    assert cause in CAUSES, cause
    previous, work_order.missed_term_cause = work_order.missed_term_cause, cause
    case_event(session, work_order, "missed_term_cause", actor, cause=cause, previous=previous)
    _settle(session, work_order, actor, settings)


def set_minimum_data_missing(
    session: Session, work_order: WorkOrder, missing: bool, actor: str, settings: Settings
) -> None:
    work_order.minimum_data_missing = missing
    case_event(session, work_order, "minimum_data", actor, missing="yes" if missing else "no")
    _settle(session, work_order, actor, settings)


def is_late(work_order: WorkOrder) -> bool:
    replied = work_order.reasoned_reply_at
    return replied is not None and replied > work_order.due_at


def _settle(session: Session, work_order: WorkOrder, actor: str, settings: Settings) -> None:
    """The late-reply indemnity as the case's facts now say: withdrawn when excluded, due
    again when owed and not yet (never twice: refunds.owe finds the one standing, or reopens
    the one refused with its pay-by date counted from the late reply)."""
    why = settings.charter.indemnity.excludes(
        work_order.missed_term_cause, work_order.minimum_data_missing
    )
    if why:
        refunds.withdraw(session, work_order, "late", actor, why)
    elif is_late(work_order):
        refunds.owe(session, work_order, "late", settings, actor)
