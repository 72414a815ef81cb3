"""What the service charter's register records of a case beyond its dates: the kind of
submission, the outcome the office found, the solution (with the date it is promised by) and
the corrective actions it led to, each checked later (UNI 10600's monitoring step). Operators
set them with `#tipo`, `#esito`, `#soluzione` and `#azione`; `mailbot actions` lists and
verifies the actions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailbot.cases import refunds
from mailbot.cases.kinds import term_for
from mailbot.cases.workorders import case_event, recompute_deadline
from mailbot.charter import Clock
from mailbot.config import OUTCOMES, SUBMISSION_KINDS, Settings
from mailbot.db import record_event
from mailbot.errors import InputError, NotFoundError
from mailbot.models import CorrectiveAction, WorkOrder, utcnow

KIND_ALIASES = {
    "rimborso": "richiesta_rimborso",
    "informazioni": "richiesta_informazioni",
    "rettifica": "rettifica_fatturazione",
}
_DATE = re.compile(
    r"^(?:entro\s+|by\s+)?(\d{1,2})/(\d{1,2})/(\d{4})\b|^(?:entro\s+|by\s+)?(\d{4})-(\d{2})-(\d{2})\b"
)


def kind_of(word: str) -> str | None:
    """`#tipo` 's word as a kind of submission, or None when it is not one."""
    word = word.strip().lower()
    word = KIND_ALIASES.get(word, word)
    return word if word in SUBMISSION_KINDS else None


def outcome_of(word: str) -> str | None:
    word = word.strip().lower()
    return word if word in OUTCOMES else None


def solution_of(arg: str) -> tuple[date | None, str] | None:
    """`#soluzione entro 30/04/2026 sostituzione del contatore` → (that day, the text); the
    date is optional (dd/mm/yyyy or yyyy-mm-dd, after "entro"); None without a text or with a
    date that does not exist."""
    found = _DATE.match(arg.strip())
    due = None
    rest = arg.strip()
    if found:
        day, month, year = (
            (found[1], found[2], found[3]) if found[1] else (found[6], found[5], found[4])
        )
        try:
            due = date(int(year), int(month), int(day))
        except ValueError:
            return None
        rest = rest[found.end() :].strip(" :-\u2013")
    return (due, rest) if rest else None


def set_kind(
    session: Session, work_order: WorkOrder, kind: str, actor: str, *, settings: Settings,
    clock: Clock,
) -> None:  # fmt: skip
    """The kind decides the term (`[charter.requests]`): when it changes the term, the deadline
    is computed again from receipt (pauses and extensions kept)."""
    previous, work_order.kind = work_order.kind, kind
    office = settings.office(work_order.office)
    term = term_for(office, work_order.category or None, kind, settings.charter.requests)
    moved = {}
    if (term.days, term.working_days) != (work_order.term_days, work_order.term_working):
        work_order.term_days, work_order.term_working = term.days, term.working_days
        recompute_deadline(work_order, clock)
        moved = {"term_days": str(term.days), "due_at": work_order.due_at.isoformat()}
    case_event(session, work_order, "kind", actor, to=kind, previous=previous, **moved)


def set_outcome(
    session: Session, work_order: WorkOrder, outcome: str, actor: str, settings: Settings
) -> None:
    """The office's finding; a founded complaint owes its category's refund, and a founded
    refund still due is withdrawn when the finding changes."""
    previous, work_order.outcome = work_order.outcome, outcome
    case_event(session, work_order, "outcome", actor, outcome=outcome)
    if outcome == "fondato":
        refunds.owe(session, work_order, "founded", settings, actor)
    elif previous == "fondato":
        refunds.withdraw(session, work_order, "founded", actor, f"esito: {outcome}")


def set_solution(
    session: Session, work_order: WorkOrder, text: str, due: date | None, actor: str
) -> None:
    work_order.solution, work_order.solution_due = text, due
    case_event(session, work_order, "solution", actor, due=due.isoformat() if due else "")


_SUPPLY_LIMITS = {"use_type": 32, "customer_code": 64, "supply_point": 64}  # the columns


def set_supply(
    session: Session,
    work_order: WorkOrder,
    actor: str,
    *,
    use_type: str | None = None,
    customer_code: str | None = None,
    supply_point: str | None = None,
) -> None:
    """What ARERA's register names the request by (the type of use, the customer code, the
    supply point); None leaves a field as it is, "" clears it."""
    given = {"use_type": use_type, "customer_code": customer_code, "supply_point": supply_point}
    changed = {key: value.strip() for key, value in given.items() if value is not None}
    for key, value in changed.items():
        if len(value) > _SUPPLY_LIMITS[key]:
            raise InputError(f"{key}: at most {_SUPPLY_LIMITS[key]} characters")
        setattr(work_order, key, value)
    case_event(session, work_order, "supply", actor, fields=",".join(sorted(changed)))


def add_action(session: Session, work_order: WorkOrder, text: str, actor: str) -> None:
    assert work_order.id is not None
    session.add(CorrectiveAction(work_order_id=work_order.id, text=text, created_by=actor))
    case_event(session, work_order, "action", actor)


def actions(
    session: Session, work_order_id: int | None = None, open_only: bool = False
) -> list[tuple[CorrectiveAction, str]]:
    """Corrective actions with their case's number, oldest first."""
    query = select(CorrectiveAction, WorkOrder.number).join(
        WorkOrder, col(WorkOrder.id) == CorrectiveAction.work_order_id
    )
    if work_order_id is not None:
        query = query.where(CorrectiveAction.work_order_id == work_order_id)
    if open_only:
        query = query.where(col(CorrectiveAction.verified_at).is_(None))
    return [(a, n) for a, n in session.exec(query.order_by(col(CorrectiveAction.id)))]


def action_view(action: CorrectiveAction, number: str, tz: ZoneInfo) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    return {
        "id": action.id,
        "number": number,
        "text": action.text,
        "by": action.created_by,
        "at": iso(action.created_at),
        "verified_at": iso(action.verified_at),
        "verified_by": action.verified_by or None,
        "verification": action.verification or None,
    }


def verify_action(session: Session, action_id: int, actor: str, note: str) -> CorrectiveAction:
    """The action was carried out and checked: who checked it, when, and what they found."""
    action = session.get(CorrectiveAction, action_id)
    if action is None:
        raise NotFoundError(f"no corrective action {action_id}")
    if action.verified_at is not None:
        raise InputError(f"corrective action {action_id} was verified already")
    action.verified_at, action.verified_by, action.verification = utcnow(), actor, note
    record_event(
        session,
        "work_order.action_verified",
        work_order_id=action.work_order_id,
        actor=actor,
        action_id=action_id,
    )
    return action
