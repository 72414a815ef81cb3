"""Replies that wait before they reach the citizen: one mechanism for a desk's cases and for
offices whose operators' replies need the responsible's approval.

`approver_of` says whether a reply that would go to the citizen must wait, and for whom: a
desk's case (the desk remains the citizen's interface: the office's answer goes to it), or an
office with `approval = true` whose reply was written by someone other than its responsible.
`hold` keeps the author's whole text (commands included) and attachments as a "pending_reply"
of the conversation (internal, never sent) and mails the approval request; nothing else
happens to the case, so the charter clock runs as before: a reply is the reasoned reply when
it leaves, not when it is written. `approving.answer_approval` carries out the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session, col, select

from mailbot.cases import conversation_log, staff
from mailbot.cases.messages import contact_values, office_reply_to, queue, store_attachments
from mailbot.db import record_event
from mailbot.log import get_logger
from mailbot.models import ConversationMessage, Event, StoredAttachment, WorkOrder, utcnow
from mailbot.roles import Member
from mailbot.services import Services
from mailbot.types import Address, Attachment

log = get_logger(__name__)

PENDING = "pending_reply"  # the conversation kind of a held reply
REQUESTED = "approval.requested"
# How a request is decided: sent as it is, replaced by the approver's own text, sent back.
DECISIONS = ("approval.approved", "approval.replaced", "approval.rejected")


@dataclass(frozen=True)
class Approver:
    """Whom a held reply waits for: a desk (its shared address) or an office's responsible."""

    role: str  # "desk" | "responsible"
    name: str
    address: str
    scope: str  # the desk's or the office's id

    def describe(self) -> str:
        return f"{self.role} {self.scope} ({self.name or self.address})"


def approver_of(
    services: Services, session: Session, work_order: WorkOrder, author: str
) -> Approver | None:
    """Who must approve `author`'s reply on this case before it reaches the citizen, or None:
    it leaves at once (the desk itself wrote, the responsible wrote, nobody to wait for)."""
    settings = services.settings
    author = author.strip().lower()
    directory = staff.directory(services, session)
    writer = directory.member(author)
    desk = settings.desks.get(work_order.desk) if work_order.desk else None
    if desk is not None:
        if author == desk.email.lower() or (writer is not None and writer.at_desk(desk.id)):
            return None  # the desk answers its own citizen
        return Approver("desk", desk.name, desk.email, desk.id)
    office = settings.office(work_order.office)
    if not office.approval:
        return None
    responsible = directory.of_office(office.id, "responsible")
    if any(author in (a.lower() for a in m.addresses) for m in responsible):
        return None
    if not responsible:
        log.warning("approval office without a responsible: reply not held", office=office.id)
        return None
    first = responsible[0]
    return Approver("responsible", first.name, first.address, office.id)


def may_approve(services: Services, member: Member, work_order: WorkOrder) -> bool:
    """A member of the case's desk for a desk's case; the office's responsible (or an admin)
    for an office that wants its replies approved."""
    desk = work_order.desk if work_order.desk in services.settings.desks else ""
    if desk:
        return member.at_desk(desk) or "admin" in member.roles
    office = services.settings.office(work_order.office)
    if not office.approval:
        return False
    return "admin" in member.roles or (
        "responsible" in member.roles and office.id in member.offices
    )


def hold(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    approver: Approver,
    *,
    author: Address,
    text: str,
    attachments: Sequence[Attachment] = (),
    inbound_id: int | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> str:
    """Keep the reply and ask `approver` for it; returns why nothing was relayed."""
    pending_id = conversation_log.add_message(
        session,
        work_order,
        direction="in",
        kind=PENDING,
        from_address=author.email,
        author=author.email,
        to=[approver.address],
        date=date or utcnow(),
        subject=work_order.subject,
        body_text=text,
        message_id=message_id,
        inbound_id=inbound_id,
        attachments=store_attachments(services, attachments),
    )
    office = services.settings.office(work_order.office)
    values = {
        **contact_values(session, work_order),
        "role": approver.role,
        "approver_name": approver.name,
        "case_office": office.name,
        "author_name": author.name,
        "author_email": author.email,
        "text": text,
    }
    composed = services.composer.to_office(
        "approval",
        number=work_order.number,
        language=work_order.language,
        office=replace(office, name=approver.name, email=approver.address),
        values=values,
        reply_to=office_reply_to(services, work_order),
        attachments=attachments,
    )
    queue(session, work_order, "approval", composed)
    record_event(
        session,
        REQUESTED,
        work_order_id=work_order.id,
        inbound_id=inbound_id,
        actor=author.email,
        pending=pending_id,
        request=composed.message_id,
        approver=approver.address,
        role=approver.role,
    )
    return f"held for approval by {approver.describe()}"


@dataclass(frozen=True)
class Request:
    """An approval request of a case, and what became of it."""

    pending: ConversationMessage
    message_id: str  # the request's own Message-ID
    decision: str  # "" while it waits, else one of DECISIONS
    decided_by: str


def request_answered(
    session: Session, work_order: WorkOrder, referenced: Sequence[str]
) -> Request | None:
    """The request a reply answers: the nearest of the Message-IDs it references."""
    requested: dict[str, int] = {}
    decided: dict[int, tuple[str, str]] = {}
    for event in _events(session, work_order):
        data = json.loads(event.data)
        if event.kind == REQUESTED:
            requested[str(data["request"])] = int(data["pending"])
        else:
            decided.setdefault(int(data["pending"]), (event.kind, event.actor))
    for message_id in referenced:
        pending_id = requested.get(message_id.strip())
        if pending_id is None:
            continue
        pending = session.get(ConversationMessage, pending_id)
        if pending is None:
            return None
        decision, actor = decided.get(pending_id, ("", ""))
        return Request(pending, message_id.strip(), decision, actor)
    return None


def _events(session: Session, work_order: WorkOrder) -> list[Event]:
    return list(
        session.exec(
            select(Event)
            .where(Event.work_order_id == work_order.id)
            .where(col(Event.kind).in_((REQUESTED, *DECISIONS)))
            .order_by(col(Event.id))
        )
    )


def decide(
    session: Session,
    work_order: WorkOrder,
    request: Request,
    decision: str,
    actor: str,
    *,
    reason: str = "",
) -> None:
    """Record the request's outcome (the next answer to it is told it was decided)."""
    assert decision in DECISIONS
    record_event(
        session,
        decision,
        work_order_id=work_order.id,
        actor=actor,
        pending=request.pending.id,
        request=request.message_id,
        reason=reason,
    )


def held_attachments(
    services: Services, session: Session, pending: ConversationMessage
) -> list[Attachment]:
    """The held reply's attachments, read back from the store."""
    stored = session.exec(
        select(StoredAttachment)
        .where(StoredAttachment.message_id == pending.id)
        .order_by(col(StoredAttachment.id))
    )
    return [Attachment(a.filename, a.content_type, services.store.get(a.sha256)) for a in stored]
