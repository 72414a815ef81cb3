"""The domain of cases ("pratiche"): numbering, opening, the conversation, deadlines, views.

No email, IMAP or SMTP here: the pipeline hands in decoded values and gets rows back.
Numbers are `YYYY/NNNNNN`, sequential per year of receipt (in the configured time zone), taken
from a counter row locked in the message's own transaction, so they are never reused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailbot import charter
from mailbot.cases.kinds import term_for
from mailbot.cases.numbering import next_number
from mailbot.charter import Clock
from mailbot.config import Category, OfficeSettings
from mailbot.config.requests import RequestSettings
from mailbot.db import record_event
from mailbot.errors import NotFoundError
from mailbot.models import (
    Taxpayer,
    WorkOrder,
    utcnow,
)
from mailbot.types import Match

OPEN, SUSPENDED, CLOSED = "open", "suspended", "closed"


def recompute_deadline(work_order: WorkOrder, clock: Clock) -> None:
    """The deadline from the case's facts: receipt, term, extension and pauses (charter.py)."""
    last = charter.due_day(
        clock.local_day(work_order.received_at),
        work_order.term_days + work_order.extension_days,
        working=work_order.term_working,
        calendar=clock.calendar,
        pauses=charter.load_pauses(work_order.pauses),
        today=clock.today(),
    )
    work_order.due_at = charter.deadline(last, clock.tz)


def category_for(text: str, categories: Sequence[Category]) -> str:
    """The first category one of whose keywords the text has (as a whole word), else ""."""
    folded = _words(text)
    for category in categories:
        if any(_words(k) in folded for k in category.keywords):
            return category.id
    return ""


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


def open_work_order(
    session: Session,
    *,
    office: OfficeSettings,
    mailbox: str,
    subject: str,
    match: Match,
    received_at: datetime,
    timezone: ZoneInfo,
    language: str,
    inbound_id: int | None,
    parent_id: int | None = None,
    clock: Clock | None = None,
    category: str = "",
    kind: str = "reclamo",
    requests: RequestSettings = RequestSettings(),  # the kind's term (cases/kinds.py)
) -> WorkOrder:
    clock = clock or Clock(charter.Calendar(), timezone)
    term = term_for(office, category, kind, requests)
    candidates = codes(session, match.candidates)
    work_order = WorkOrder(
        reply_token=secrets.token_hex(8),
        parent_id=parent_id,
        number=next_number(session, received_at.astimezone(timezone).year),
        status=OPEN,
        office=office.id,
        mailbox=mailbox,
        subject=subject,
        contact_id=match.contact_id,
        match_rule=match.rule,
        match_confidence=match.confidence,
        taxpayer_id=match.taxpayer_id,
        match_state=match.state,
        match_candidates=candidates,
        contact_verified=match.verified,
        language=language,
        received_at=received_at,
        due_at=received_at,  # recomputed below
        category=category,
        kind=kind,
        term_days=term.days,
        term_working=term.working_days,
    )
    recompute_deadline(work_order, clock)
    session.add(work_order)
    session.flush()
    record_event(
        session,
        "work_order.opened",
        work_order_id=work_order.id,
        inbound_id=inbound_id,
        number=work_order.number,
        office=office.id,
        match_rule=match.rule,
        match_state=match.state,
        match_evidence=match.evidence,
        verified=match.verified,
        candidates=[c for c in candidates.split(",") if c],
        parent=parent_id,
    )
    return work_order


def codes(session: Session, taxpayer_ids: Sequence[int]) -> str:
    """Candidates are stored by code: readable, and stable across a registry rebuild."""
    if not taxpayer_ids:
        return ""
    found = dict(
        session.exec(
            select(Taxpayer.id, Taxpayer.codice_fiscale).where(col(Taxpayer.id).in_(taxpayer_ids))
        ).all()
    )
    return ",".join(found[t] for t in taxpayer_ids if t in found)


def relink(
    session: Session,
    work_order: WorkOrder,
    match: Match,
    actor: str,
) -> None:
    """Change who a case is about (rematch, or an operator's `workorders link`)."""
    before = (work_order.match_rule, work_order.match_state, work_order.taxpayer_id)
    work_order.contact_id = match.contact_id
    work_order.match_rule = match.rule
    work_order.match_confidence = match.confidence
    work_order.taxpayer_id = match.taxpayer_id
    work_order.match_state = match.state
    work_order.match_candidates = codes(session, match.candidates)
    work_order.contact_verified = work_order.contact_verified or match.verified
    session.add(work_order)
    record_event(
        session,
        "work_order.relinked",
        work_order_id=work_order.id,
        actor=actor,
        before={"rule": before[0], "state": before[1], "taxpayer_id": before[2]},
        after={"rule": match.rule, "state": match.state, "taxpayer_id": match.taxpayer_id},
        evidence=match.evidence,
    )


def by_number(session: Session, number: str) -> WorkOrder:
    work_order = session.exec(select(WorkOrder).where(WorkOrder.number == number)).first()
    if work_order is None:
        raise NotFoundError(f"no work order {number}")
    return work_order


def case_event(session: Session, work_order: WorkOrder, kind: str, actor: str, **data: str) -> None:
    details: dict[str, Any] = dict(data)
    record_event(session, f"work_order.{kind}", work_order_id=work_order.id, actor=actor, **details)


def assign(
    session: Session, work_order: WorkOrder, office: OfficeSettings, actor: str, reason: str = ""
) -> None:
    """The case moves to `office`; the term and the deadline stay the case's own."""
    previous = work_order.office
    work_order.office = office.id
    details = {"reason": reason} if reason else {}
    case_event(
        session, work_order, "assigned", actor, office=office.id, previous=previous, **details
    )


def suspend(session: Session, work_order: WorkOrder, reason: str, actor: str, clock: Clock) -> None:
    """Waiting for the citizen: the service-charter clock stops until they answer."""
    work_order.status = SUSPENDED
    work_order.suspended_at = utcnow()
    pauses = charter.load_pauses(work_order.pauses)
    if not pauses or pauses[-1][1] is not None:
        pauses.append((clock.today(), None))
    work_order.pauses = charter.dump_pauses(pauses)
    case_event(session, work_order, "suspended", actor, reason=reason)


def resume(
    session: Session, work_order: WorkOrder, actor: str, clock: Clock, *, restart: bool = False
) -> None:
    """The citizen answered: the clock goes on tomorrow and the deadline moves on. With
    `restart` (the charter's `on_integration = "restart"`) the whole term runs again from
    tomorrow: everything up to today counts as paused."""
    if work_order.status == SUSPENDED:
        work_order.status = OPEN
        work_order.suspended_at = None
        pauses = charter.load_pauses(work_order.pauses)
        if pauses and pauses[-1][1] is None:
            pauses[-1] = (pauses[-1][0], clock.today())
        if restart:
            pauses = [(clock.local_day(work_order.received_at), clock.today())]
        work_order.pauses = charter.dump_pauses(pauses)
        recompute_deadline(work_order, clock)
        due = work_order.due_at.isoformat()
        case_event(
            session, work_order, "resumed", actor, due_at=due, restarted=str(restart).lower()
        )


def extend(
    session: Session, work_order: WorkOrder, *, days: int, reason: str, actor: str, clock: Clock
) -> None:
    """An extension (proroga): more days on the term, with the reason the citizen is told."""
    before = work_order.due_at
    work_order.extension_days += days
    recompute_deadline(work_order, clock)
    case_event(
        session,
        work_order,
        "extended",
        actor,
        days=str(days),
        reason=reason,
        before=before.isoformat(),
        due_at=work_order.due_at.isoformat(),
    )


def set_category(
    session: Session,
    work_order: WorkOrder,
    *,
    category: str,
    office: OfficeSettings,
    actor: str,
    clock: Clock,
    requests: RequestSettings = RequestSettings(),
) -> None:
    """A category can carry its own term: the deadline follows it."""
    previous = work_order.category
    term = term_for(office, category, work_order.kind, requests)
    work_order.category = category
    work_order.term_days, work_order.term_working = term.days, term.working_days
    recompute_deadline(work_order, clock)
    case_event(
        session,
        work_order,
        "categorised",
        actor,
        category=category,
        previous=previous,
        due_at=work_order.due_at.isoformat(),
    )


def set_protocollo(session: Session, work_order: WorkOrder, number: str, actor: str) -> None:
    """The protocol number(s) the correspondence was registered under, for the register."""
    numbers = [n for n in work_order.protocollo.split(", ") if n]
    if number not in numbers:
        numbers.append(number)
    work_order.protocollo = ", ".join(numbers)
    case_event(session, work_order, "protocollo", actor, number=number)


def close(session: Session, work_order: WorkOrder, actor: str) -> None:
    work_order.status = CLOSED
    work_order.closed_at = utcnow()
    case_event(session, work_order, "closed", actor)


def reopen(session: Session, work_order: WorkOrder, actor: str) -> None:
    work_order.status = OPEN
    work_order.closed_at = None
    work_order.suspended_at = None
    case_event(session, work_order, "reopened", actor)


def may_reopen(work_order: WorkOrder, now: datetime, reopen_days: int) -> bool:
    """A follow-up reopens a case closed less than `reopen_days` ago; later it opens a new one."""
    return work_order.closed_at is None or now - work_order.closed_at < timedelta(days=reopen_days)


# --- views (the JSON shapes of `workorders list/show`, stable from now on) ---
