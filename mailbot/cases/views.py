"""Cases as the CLI and JSON show them: a summary per case for lists, the whole case with its
conversation, PEC receipts and events for `workorders show`. Read-only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.cases import refunds, register
from mailbot.errors import NotFoundError
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    OutboundMessage,
    PecReceipt,
    ProtocolRegistration,
    StoredAttachment,
    Taxpayer,
    WorkOrder,
)
from mailbot.types import deliverable

SUBMITTER = "work_order.submitter"  # the event keeping what the web form was given


def _iso(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).isoformat(timespec="seconds")


def _summary(
    wo: WorkOrder, contact: Contact, taxpayer: Taxpayer | None, count: int, tz: ZoneInfo
) -> dict[str, Any]:
    return {
        "number": wo.number,
        "status": wo.status,
        "office": wo.office,
        "desk": wo.desk or None,  # the desk that opened it and relays its answers (issue 29)
        "subject": wo.subject,
        "opened_at": _iso(wo.opened_at, tz),
        "due_at": _iso(wo.due_at, tz),
        "contact": {
            "email": contact.email,
            # No e-mail address (counter, post, fax, phone): the placeholder is not one to
            # write to; replies become letters to the postal address.
            "reachable": deliverable(contact.email),
            "phone": contact.phone or None,
            "postal_address": wo.postal_address
            or (taxpayer.postal_address if taxpayer else "")
            or None,
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
            "missed_term_cause": wo.missed_term_cause or None,
            "minimum_data_missing": wo.minimum_data_missing,
            "satisfaction": wo.satisfaction,
            "kind": wo.kind,
            "channel": wo.channel,
            "outcome": wo.outcome,
            "solution": wo.solution or None,
            "solution_due": wo.solution_due.isoformat() if wo.solution_due else None,
        },
        "message_count": count,
        "void": (
            {"reason": wo.void_reason, "by": wo.voided_by, "at": _iso(wo.voided_at, tz)}
            if wo.voided_at
            else None
        ),
    }


def _summary_query() -> Any:
    # The message count per case as a correlated subquery (the index on work_order_id): a
    # grouped count of every message joined in costs PostgreSQL a scan of the whole table even
    # for one case (16 ms with 10,000 cases: bench/backoffice.py).
    count = (
        select(sa.func.count())
        .select_from(ConversationMessage)
        .where(ConversationMessage.work_order_id == WorkOrder.id)
        .correlate(WorkOrder)
        .scalar_subquery()
    )
    return (
        select(WorkOrder, Contact, Taxpayer, count)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
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


def show_work_order(
    session: Session, number: str, tz: ZoneInfo, refund_factor: float = 2.0
) -> dict[str, Any]:
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
    assert wo.id is not None
    result["submitted"] = _submitted(session, wo.id)
    result["charter"]["protocollo_pending"] = _protocol_pending(session, wo.id)
    result["actions"] = [
        register.action_view(a, n, tz) for a, n in register.actions(session, wo.id)
    ]
    result["refunds"] = [
        refunds.view(r, n, tz, refund_factor)
        for r, n in refunds.refunds(session, work_order_id=wo.id)
    ]
    result["views"] = [
        {"at": _iso(e.at, tz), "by": e.actor, "via": json.loads(e.data).get("via", "")}
        for e in session.exec(
            select(Event)
            .where(Event.work_order_id == wo.id)
            .where(Event.kind == VIEWED)
            .order_by(col(Event.id))
        )
    ]
    return result


VIEWED = "work_order.viewed"


def _protocol_pending(session: Session, work_order_id: int) -> dict[str, Any] | None:
    """The registration the case still waits for (cases/registration.py), or None."""
    row = session.exec(
        select(ProtocolRegistration)
        .where(ProtocolRegistration.work_order_id == work_order_id)
        .where(ProtocolRegistration.status == "pending")
        .order_by(col(ProtocolRegistration.id))
    ).first()
    return {"attempts": row.attempts, "last_error": row.last_error or None} if row else None


def record_view(session: Session, number: str, actor: str, via: str) -> None:
    """Who read the case's personal data, when and through which door (the brief's
    accountability rule): `workorders show` records itself, the back office will too."""
    work_order_id = session.exec(select(WorkOrder.id).where(WorkOrder.number == number)).first()
    if work_order_id is None:
        raise NotFoundError(f"no work order {number}")
    session.add(Event(kind=VIEWED, actor=actor, work_order_id=work_order_id,
                      data=json.dumps({"via": via})))  # fmt: skip


def _submitted(session: Session, work_order_id: int) -> dict[str, str] | None:
    """The name, phone and address (an internationalised domain as typed) given on the web
    form for this case, never written on the contact, which someone else may own; or None."""
    event = session.exec(
        select(Event).where(Event.work_order_id == work_order_id).where(Event.kind == SUBMITTER)
    ).first()
    if event is None:
        return None
    data = json.loads(event.data)
    return {key: str(data.get(key, "")) for key in ("name", "phone", "email")}


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
