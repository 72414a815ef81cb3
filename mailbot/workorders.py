"""The domain of cases ("pratiche"): numbering, opening, the conversation, deadlines, views.

No email, IMAP or SMTP here: the pipeline hands in decoded values and gets rows back.
Numbers are `YYYY/NNNNNN`, sequential per year of receipt (in the configured time zone), taken
from a counter row locked in the message's own transaction, so they are never reused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot import charter
from mailbot.config import Category, OfficeSettings
from mailbot.db import record_event
from mailbot.errors import NotFoundError
from mailbot.models import (
    Contact,
    ConversationMessage,
    OutboundMessage,
    PecReceipt,
    StoredAttachment,
    Taxpayer,
    WorkOrder,
    WorkOrderCounter,
    utcnow,
)
from mailbot.types import Match

OPEN, SUSPENDED, CLOSED = "open", "suspended", "closed"


def next_number(session: Session, year: int) -> str:
    """The year's next number. The counter row is locked until the message's transaction ends,
    so concurrent instances queue here and a rolled-back case gives its number back."""
    counter = session.get(WorkOrderCounter, year, with_for_update=True)
    if counter is None:  # the year's first case: two instances may race to create the row
        try:
            with session.begin_nested():
                session.add(WorkOrderCounter(year=year, last_seq=0))
        except IntegrityError:
            pass  # the other one did; lock theirs
        counter = session.get(WorkOrderCounter, year, with_for_update=True, populate_existing=True)
        assert counter is not None
    counter.last_seq += 1
    session.flush()
    return f"{year}/{counter.last_seq:06d}"


@dataclass(frozen=True)
class Clock:
    """What deadline arithmetic needs: the calendar of holidays and the local time zone."""

    calendar: charter.Calendar
    tz: ZoneInfo

    def today(self) -> date:
        return utcnow().astimezone(self.tz).date()

    def local_day(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()


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
) -> WorkOrder:
    clock = clock or Clock(charter.Calendar(), timezone)
    term = office.term(category)
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
        match_candidates=codes(session, match.candidates),
        contact_verified=match.verified,
        language=language,
        received_at=received_at,
        due_at=received_at,  # recomputed below
        category=category,
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
        candidates=[c for c in codes(session, match.candidates).split(",") if c],
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


def _event(session: Session, work_order: WorkOrder, kind: str, actor: str, **data: str) -> None:
    details: dict[str, Any] = dict(data)
    record_event(session, f"work_order.{kind}", work_order_id=work_order.id, actor=actor, **details)


def assign(session: Session, work_order: WorkOrder, office: OfficeSettings, actor: str) -> None:
    previous = work_order.office
    work_order.office = office.id
    _event(session, work_order, "assigned", actor, office=office.id, previous=previous)


def suspend(session: Session, work_order: WorkOrder, reason: str, actor: str, clock: Clock) -> None:
    """Waiting for the citizen: the service-charter clock stops until they answer."""
    work_order.status = SUSPENDED
    work_order.suspended_at = utcnow()
    pauses = charter.load_pauses(work_order.pauses)
    if not pauses or pauses[-1][1] is not None:
        pauses.append((clock.today(), None))
    work_order.pauses = charter.dump_pauses(pauses)
    _event(session, work_order, "suspended", actor, reason=reason)


def resume(session: Session, work_order: WorkOrder, actor: str, clock: Clock) -> None:
    """The citizen answered: the clock restarts tomorrow and the deadline moves on."""
    if work_order.status == SUSPENDED:
        work_order.status = OPEN
        work_order.suspended_at = None
        pauses = charter.load_pauses(work_order.pauses)
        if pauses and pauses[-1][1] is None:
            pauses[-1] = (pauses[-1][0], clock.today())
        work_order.pauses = charter.dump_pauses(pauses)
        recompute_deadline(work_order, clock)
        _event(session, work_order, "resumed", actor, due_at=work_order.due_at.isoformat())


def extend(
    session: Session, work_order: WorkOrder, *, days: int, reason: str, actor: str, clock: Clock
) -> None:
    """An extension (proroga): more days on the term, with the reason the citizen is told."""
    before = work_order.due_at
    work_order.extension_days += days
    recompute_deadline(work_order, clock)
    _event(
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
) -> None:
    """A category can carry its own term: the deadline follows it."""
    previous = work_order.category
    term = office.term(category)
    work_order.category = category
    work_order.term_days, work_order.term_working = term.days, term.working_days
    recompute_deadline(work_order, clock)
    _event(
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
    _event(session, work_order, "protocollo", actor, number=number)


def close(session: Session, work_order: WorkOrder, actor: str) -> None:
    work_order.status = CLOSED
    work_order.closed_at = utcnow()
    _event(session, work_order, "closed", actor)


def reopen(session: Session, work_order: WorkOrder, actor: str) -> None:
    work_order.status = OPEN
    work_order.closed_at = None
    work_order.suspended_at = None
    _event(session, work_order, "reopened", actor)


def may_reopen(work_order: WorkOrder, now: datetime, reopen_days: int) -> bool:
    """A follow-up reopens a case closed less than `reopen_days` ago; later it opens a new one."""
    return work_order.closed_at is None or now - work_order.closed_at < timedelta(days=reopen_days)


def mark_reply_sent(
    session: Session, work_order: WorkOrder, actor: str, office: OfficeSettings
) -> None:
    """The first reply relayed to the citizen is the charter's "reasoned reply"; a late one
    owes the citizen the term's refund, when the charter sets one."""
    if work_order.reasoned_reply_at is None:
        work_order.reasoned_reply_at = utcnow()
        _event(session, work_order, "reasoned_reply", actor)
        if work_order.reasoned_reply_at > work_order.due_at:
            work_order.refund_eur = office.term(work_order.category).refund_eur
            _event(session, work_order, "late", actor, refund_eur=str(work_order.refund_eur))


def conversation(session: Session, work_order_id: int) -> list[ConversationMessage]:
    return list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == work_order_id)
            .order_by(col(ConversationMessage.id))
        )
    )


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str


def add_message(
    session: Session,
    work_order: WorkOrder,
    *,
    direction: str,
    kind: str,
    from_address: str,
    to: Sequence[str],
    date: datetime,
    subject: str,
    body_text: str,
    message_id: str | None,
    inbound_id: int | None = None,
    outbound_id: int | None = None,
    attachments: Sequence[NewAttachment] = (),
    body_html: str = "",
    author: str = "",
) -> ConversationMessage:
    assert work_order.id is not None
    message = ConversationMessage(
        work_order_id=work_order.id,
        direction=direction,
        kind=kind,
        from_address=from_address,
        to_addresses=", ".join(to),
        date=date,
        subject=subject,
        body_text=body_text,
        message_id=message_id,
        inbound_id=inbound_id,
        outbound_id=outbound_id,
        body_html=body_html,
        author=author,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    for item in attachments:
        session.add(
            StoredAttachment(
                message_id=message.id,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                sha256=item.sha256,
            )
        )
    return message


# --- views (the JSON shapes of `workorders list/show`, stable from now on) ---


def _iso(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds")


def _summary(
    wo: WorkOrder, contact: Contact, taxpayer: Taxpayer | None, count: int, tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "number": wo.number,
        "status": wo.status,
        "office": wo.office,
        "subject": wo.subject,
        "opened_at": _iso(wo.opened_at, tz),
        "due_at": _iso(wo.due_at, tz),
        "contact": {
            "email": contact.email,
            "name": taxpayer.name if taxpayer else contact.name,
            "generic": taxpayer is None,
            "codice_fiscale": taxpayer.codice_fiscale if taxpayer else None,
            "verified": wo.contact_verified,
        },
        "match": {
            "rule": wo.match_rule,
            "confidence": wo.match_confidence,
            "state": wo.match_state,
            "candidates": [c for c in wo.match_candidates.split(",") if c],
        },
        "charter": {
            "category": wo.category or None,
            "term_days": wo.term_days,
            "working_days": wo.term_working,
            "extension_days": wo.extension_days,
            "reasoned_reply_at": _iso(wo.reasoned_reply_at, tz) if wo.reasoned_reply_at else None,
            "refund_eur": wo.refund_eur,
            "protocollo": [p for p in wo.protocollo.split(", ") if p],
            "satisfaction": wo.satisfaction,
        },
        "message_count": count,
    }


def _summary_query() -> Any:
    counts = (
        select(ConversationMessage.work_order_id, sa.func.count().label("n"))
        .group_by(col(ConversationMessage.work_order_id))
        .subquery()
    )
    return (
        select(WorkOrder, Contact, Taxpayer, sa.func.coalesce(counts.c.n, 0))
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .outerjoin(counts, counts.c.work_order_id == WorkOrder.id)
    )


def list_work_orders(
    session: Session, tz: ZoneInfo, status: str | None = None, office: str | None = None
) -> list[dict[str, Any]]:
    query = _summary_query()
    if status:
        query = query.where(WorkOrder.status == status)
    if office:
        query = query.where(WorkOrder.office == office)
    rows = session.exec(query.order_by(col(WorkOrder.id)))
    return [_summary(wo, c, t, n, tz) for wo, c, t, n in rows]


def show_work_order(session: Session, number: str, tz: ZoneInfo) -> dict[str, Any]:
    row = session.exec(_summary_query().where(WorkOrder.number == number)).first()
    if row is None:
        raise NotFoundError(f"no work order {number}")
    wo, contact, taxpayer, count = row
    result = _summary(wo, contact, taxpayer, count, tz)
    messages = list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == wo.id)
            .order_by(col(ConversationMessage.id))  # the order things happened in
        )
    )
    attachments: dict[int, list[dict[str, Any]]] = {}
    ids = [m.id for m in messages]
    for att in session.exec(
        select(StoredAttachment)
        .where(col(StoredAttachment.message_id).in_(ids))
        .order_by(col(StoredAttachment.id))
    ):
        attachments.setdefault(att.message_id, []).append(
            {"filename": att.filename, "size": att.size}
        )
    pec_views = _pec_views(session, [m.outbound_id for m in messages if m.outbound_id], tz)
    result["messages"] = [
        {
            "direction": m.direction,
            "kind": m.kind,
            "from": m.from_address,
            "to": [a for a in m.to_addresses.split(", ") if a],
            "date": _iso(m.date, tz),
            "subject": m.subject,
            "body_text": m.body_text,
            "message_id": m.message_id,
            "attachments": attachments.get(m.id or 0, []),
            **({"pec": pec_views[m.outbound_id]} if m.outbound_id in pec_views else {}),
        }
        for m in messages
    ]
    return result


def _pec_views(session: Session, outbound_ids: list[int], tz: ZoneInfo) -> dict[int, Any]:
    """For each outbound message sent by PEC: its state, the provider's identificativo and the
    receipts that certify it, in the order they arrived."""
    views: dict[int, dict[str, Any]] = {}
    for row in session.exec(
        select(OutboundMessage)
        .where(col(OutboundMessage.id).in_(outbound_ids))
        .where(col(OutboundMessage.pec_state).is_not(None))
    ):
        assert row.id is not None
        views[row.id] = {"state": row.pec_state, "provider_id": row.pec_provider_id, "receipts": []}
    for receipt in session.exec(
        select(PecReceipt)
        .where(col(PecReceipt.outbound_id).in_(list(views)))
        .order_by(col(PecReceipt.id))
    ):
        views[receipt.outbound_id]["receipts"].append(
            {
                "type": receipt.type,
                "date": _iso(receipt.date, tz) if receipt.date else None,
                "recipient": receipt.recipient or None,
                "error": receipt.error or None,
                "signature": receipt.signature,
            }
        )
    return views
