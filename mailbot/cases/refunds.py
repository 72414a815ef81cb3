"""What the service charter owes a citizen for a case, and its settlement.

A refund falls due when the reasoned reply came after the term (the amount `[charter.indemnity]`
rules give: by default the term's `refund_eur`; config/indemnity.py) or when
a complaint is found founded (`#esito fondato`) in a category that carries one (the category's
`refund_eur`, or a `compensation` in kind such as a free ride). A category with `no_refund` owes
nothing, late replies included (the charters' exclusions). A refund not paid within
`[charter] refund_pay_days` of falling due is owed `refund_late_factor` times (doubled by
default). An admin settles it with `mailbot refunds pay|refuse`; an outcome changed away from
founded withdraws a founded refund still due. `work_order.refund_eur` keeps the sum of the money
refunds not refused, for the register. The rules' exclusions (a missed-term cause, a complaint
without the minimum data: cases/indemnity.py) owe no late-reply refund.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailbot import charter
from mailbot.cases.workorders import case_event
from mailbot.config import Settings
from mailbot.db import record_event
from mailbot.errors import InputError, NotFoundError
from mailbot.models import Refund, WorkOrder, utcnow

DUE, PAID, REFUSED = "due", "paid", "refused"
STATES = (DUE, PAID, REFUSED)
STATE_NAMES = {DUE: "dovuto", PAID: "pagato", REFUSED: "rifiutato"}


def owe(
    session: Session, work_order: WorkOrder, reason: str, settings: Settings, actor: str
) -> Refund | None:
    """The refund `reason` ("late" or "founded") gives the case, when the charter sets one;
    once per case and reason (a refused one owed again is reopened, a paid one stands); never
    for a voided case. A late reply's refund is to be paid within `refund_pay_days` of the
    reply, a founded one of the day it is found."""
    if work_order.voided_at is not None:
        return None
    category = settings.charter.category(work_order.category) if work_order.category else None
    if category is not None and category.no_refund:
        return None
    if reason == "late":
        rules = settings.charter.indemnity
        if rules.excludes(work_order.missed_term_cause, work_order.minimum_data_missing):
            return None
        amount = rules.amount(
            settings.office(work_order.office).term(work_order.category).refund_eur,
            work_order.term_days + work_order.extension_days,
            _days_taken(work_order, settings),
        )
        compensation = ""
    else:
        amount = category.refund_eur if category else 0.0
        compensation = category.compensation if category else ""
    if not amount and not compensation:
        return None
    assert work_order.id is not None
    standing = list(
        session.exec(
            select(Refund)
            .where(Refund.work_order_id == work_order.id)
            .where(Refund.reason == reason)
            .order_by(col(Refund.id))
        )
    )
    existing = next((r for r in standing if r.state != REFUSED), None)
    if existing is not None:
        return existing
    if standing:
        return _reopen(session, work_order, standing[-1], actor)
    # A late reply's refund is counted from the reply, whenever the case's facts owe it.
    since = work_order.reasoned_reply_at if reason == "late" else None
    start = (since or utcnow()).astimezone(settings.timezone).date()
    refund = Refund(
        work_order_id=work_order.id,
        reason=reason,
        amount_eur=0.0 if compensation else amount,
        compensation=compensation,
        pay_by=start + timedelta(days=settings.charter.refund_pay_days),
    )
    session.add(refund)
    session.flush()
    _total(session, work_order)
    case_event(
        session,
        work_order,
        "refund_due",
        actor,
        refund_id=str(refund.id),
        reason=reason,
        amount_eur=str(refund.amount_eur),
        compensation=compensation,
    )
    return refund


def _reopen(session: Session, work_order: WorkOrder, refund: Refund, actor: str) -> Refund:
    """A refused refund owed again (its exclusion corrected): the same row, due again, with its
    amount and its pay-by date as they were (never a second indemnity for one case)."""
    why = refund.note
    refund.state, refund.decided_at, refund.decided_by, refund.note = DUE, None, "", ""
    session.flush()
    _total(session, work_order)
    case_event(
        session,
        work_order,
        "refund_due_again",
        actor,
        refund_id=str(refund.id),
        reason=refund.reason,
        refused_because=why,
        pay_by=refund.pay_by.isoformat(),
    )
    return refund


def withdraw(session: Session, work_order: WorkOrder, reason: str, actor: str, why: str) -> None:
    """A refund of `reason` still due is no longer owed (the outcome changed)."""
    for refund in session.exec(
        select(Refund)
        .where(Refund.work_order_id == work_order.id)
        .where(Refund.reason == reason)
        .where(Refund.state == DUE)
    ):
        refund.state, refund.decided_at, refund.decided_by, refund.note = (
            REFUSED,
            utcnow(),
            actor,
            why,
        )
        case_event(
            session, work_order, "refund_withdrawn", actor, refund_id=str(refund.id), why=why
        )
    session.flush()
    _total(session, work_order)


def owed(refund: Refund, factor: float, today: date) -> float:
    """What a money refund is worth on `today`: its amount, times `factor` past its term."""
    if refund.state == PAID and refund.paid_eur is not None:
        return refund.paid_eur
    late = today > refund.pay_by
    return round(refund.amount_eur * (factor if late else 1.0), 2)


def pay(session: Session, refund_id: int, actor: str, note: str, settings: Settings) -> Refund:
    """Paid (or the compensation given) today: at the amount owed today."""
    refund = _due(session, refund_id)
    if settings.charter.indemnity.bill_reference_required and not note.strip():
        raise InputError("a refund is paid on a bill: give the bill's reference (--reference)")
    today = utcnow().astimezone(settings.timezone).date()
    refund.paid_eur = (
        None if refund.compensation else owed(refund, settings.charter.refund_late_factor, today)
    )
    refund.state, refund.decided_at, refund.decided_by, refund.note = PAID, utcnow(), actor, note
    record_event(
        session,
        "work_order.refund_paid",
        work_order_id=refund.work_order_id,
        actor=actor,
        refund_id=refund_id,
        paid_eur=str(refund.paid_eur or 0),
        reference=note,
    )
    return refund


def refuse(session: Session, refund_id: int, actor: str, reason: str) -> Refund:
    """Not owed after all (an exclusion the charter names): the reason is required."""
    if not reason.strip():
        raise InputError("a refused refund needs its reason (--reason)")
    refund = _due(session, refund_id)
    refund.state, refund.decided_at, refund.decided_by, refund.note = (
        REFUSED,
        utcnow(),
        actor,
        reason.strip(),
    )
    session.flush()
    work_order = session.get(WorkOrder, refund.work_order_id)
    assert work_order is not None
    _total(session, work_order)
    record_event(
        session,
        "work_order.refund_refused",
        work_order_id=refund.work_order_id,
        actor=actor,
        refund_id=refund_id,
    )
    return refund


def refunds(
    session: Session, state: str | None = None, work_order_id: int | None = None
) -> list[tuple[Refund, str]]:
    """Refunds with their case's number, oldest first."""
    query = select(Refund, WorkOrder.number).join(
        WorkOrder, col(WorkOrder.id) == Refund.work_order_id
    )
    if state is not None:
        query = query.where(Refund.state == state)
    if work_order_id is not None:
        query = query.where(Refund.work_order_id == work_order_id)
    return [(r, n) for r, n in session.exec(query.order_by(col(Refund.id)))]


def causes(session: Session, work_order_ids: set[int]) -> dict[int, str]:
    """The missed-term cause of each of these cases ("" when not said): cases/indemnity.py."""
    if not work_order_ids:
        return {}
    query = select(WorkOrder.id, WorkOrder.missed_term_cause).where(
        col(WorkOrder.id).in_(work_order_ids)
    )
    return {i: c for i, c in session.exec(query) if i is not None}


def by_case(session: Session, year: int) -> dict[int, list[Refund]]:
    """The refunds of the cases of `year`, by work order id (for the register)."""
    found: dict[int, list[Refund]] = {}
    query = (
        select(Refund)
        .join(WorkOrder, col(WorkOrder.id) == Refund.work_order_id)
        .where(col(WorkOrder.number).startswith(f"{year}/"))
        .order_by(col(Refund.id))
    )
    for refund in session.exec(query):
        found.setdefault(refund.work_order_id, []).append(refund)
    return found


def view(
    refund: Refund, number: str, tz: ZoneInfo, factor: float, cause: str = ""
) -> dict[str, Any]:
    today = utcnow().astimezone(tz).date()
    return {
        "id": refund.id,
        "number": number,
        "reason": refund.reason,
        "missed_term_cause": cause or None,
        "state": refund.state,
        "amount_eur": refund.amount_eur,
        "owed_eur": None if refund.compensation else owed(refund, factor, today),
        "compensation": refund.compensation or None,
        "pay_by": refund.pay_by.isoformat(),
        "overdue": refund.state == DUE and today > refund.pay_by,
        "decided_at": refund.decided_at.astimezone(tz).isoformat(timespec="seconds")
        if refund.decided_at
        else None,
        "decided_by": refund.decided_by or None,
        "paid_eur": refund.paid_eur,
        "note": refund.note or None,
    }


def _days_taken(work_order: WorkOrder, settings: Settings) -> int:
    """The term's days (working or calendar, pauses excluded) the reasoned reply took."""
    tz = settings.timezone
    replied = work_order.reasoned_reply_at or utcnow()
    return charter.days_taken(
        work_order.received_at.astimezone(tz).date(),
        replied.astimezone(tz).date(),
        working=work_order.term_working,
        calendar=charter.Calendar(
            settings.charter.local_holidays, settings.charter.saturday_is_working_day
        ),
        pauses=charter.load_pauses(work_order.pauses),
    )


def _due(session: Session, refund_id: int) -> Refund:
    refund = session.get(Refund, refund_id)
    if refund is None:
        raise NotFoundError(f"no refund {refund_id}")
    if refund.state != DUE:
        raise InputError(f"refund {refund_id} is {refund.state} already")
    return refund


def _total(session: Session, work_order: WorkOrder) -> None:
    work_order.refund_eur = sum(
        (
            r.amount_eur
            for r in session.exec(select(Refund).where(Refund.work_order_id == work_order.id))
            if r.state != REFUSED
        ),
        0.0,
    )
