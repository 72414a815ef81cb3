"""Retention (GDPR): `purge` closed cases past `[retention] cases`.

It keeps what the register, the SLA report and the annual report count (number, office,
mailbox, category, dates, deadline, term, pauses, refund, rating, protocollo, how the sender was
matched) and removes what identifies or quotes the person: message texts and subjects, original
messages and attachments (objects in the store, unless another kept message holds the same
bytes), sent messages' bytes and recipients, PEC receipts' recipients and originals, the text
of audit events, the link to the taxpayer, the postal address letters went to (the letters
go as attachments), and the contact itself (name, phone) once none of its cases is kept. The
taxpayer registry is the institution's own register, imported from its source, and is not
touched here. Every purged case gets a `case.purged` event and the run a `purge.run`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from mailbot.cases.conversation_log import conversation
from mailbot.cases.workorders import CLOSED
from mailbot.config import parse_age
from mailbot.db import record_event, unit_of_work
from mailbot.log import get_logger
from mailbot.models import (
    Contact,
    Event,
    InboundMessage,
    OutboundMessage,
    PecReceipt,
    ProtocolRegistration,
    StoredAttachment,
    WorkOrder,
    utcnow,
)
from mailbot.services import Services

log = get_logger(__name__)


def cutoff(now: datetime, age: str, key: str = "--older-than") -> datetime:
    """The instant `age` ("5y", "400d") before `now`; calendar years (29 Feb → 28 Feb)."""
    amount, unit = parse_age(age, key)
    if unit == "d":
        return now - timedelta(days=amount)
    try:
        return now.replace(year=now.year - amount)
    except ValueError:
        return now.replace(year=now.year - amount, day=28)


@dataclass
class PurgeReport:
    before: datetime
    cases: list[str] = field(default_factory=list)
    messages: int = 0
    objects_removed: int = 0
    contacts_removed: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "closed_before": self.before.isoformat(timespec="seconds"),
            "cases": self.cases,
            "messages": self.messages,
            "objects_removed": self.objects_removed,
            "contacts_removed": self.contacts_removed,
            "dry_run": self.dry_run,
        }


def purge(
    services: Services, before: datetime, *, dry_run: bool = False, actor: str = "mailbot"
) -> PurgeReport:
    """Each case closed before `before` and not yet purged, one transaction per case (a long
    purge can be stopped and run again). Store objects are deleted after the commit, so a
    crash leaves at worst an orphan object, never a row pointing at nothing."""
    report = PurgeReport(before=before, dry_run=dry_run)
    with unit_of_work(services.engine) as session:
        due = session.exec(
            select(WorkOrder.id, WorkOrder.number)
            .where(WorkOrder.status == CLOSED, col(WorkOrder.closed_at) < before)
            .where(col(WorkOrder.purged_at).is_(None))
            .order_by(col(WorkOrder.id))
        ).all()
    for work_order_id, number in due:
        report.cases.append(number)
        assert work_order_id is not None
        if dry_run:
            with unit_of_work(services.engine) as session:
                report.messages += len(conversation(session, work_order_id))
            continue
        with unit_of_work(services.engine) as session:
            digests, messages, contact_gone = _purge_case(session, work_order_id, actor)
        report.messages += messages
        report.contacts_removed += contact_gone
        for digest in digests:
            with unit_of_work(services.engine) as session:
                if _still_used(session, digest):
                    continue
            report.objects_removed += services.store.delete(digest)
    if not dry_run:
        with unit_of_work(services.engine) as session:
            record_event(
                session,
                "purge.run",
                actor=actor,
                closed_before=before.isoformat(timespec="seconds"),
                cases=len(report.cases),
                objects_removed=report.objects_removed,
                contacts_removed=report.contacts_removed,
            )
        log.info("purge done", cases=len(report.cases), objects=report.objects_removed)
    return report


def _purge_case(session: Session, work_order_id: int, actor: str) -> tuple[set[str], int, int]:
    """Scrub one case in the caller's transaction: (store objects to delete, messages
    scrubbed, 1 if its contact went too)."""
    work_order = session.get(WorkOrder, work_order_id, with_for_update=True)
    assert work_order is not None
    digests: set[str] = set()
    messages = conversation(session, work_order_id)
    for message in messages:
        message.subject = message.body_text = message.body_html = ""
        message.from_address = message.to_addresses = ""
        for attachment in session.exec(
            select(StoredAttachment).where(StoredAttachment.message_id == message.id)
        ):
            digests.add(attachment.sha256)
            session.delete(attachment)
    inbound_ids = {
        i
        for i in session.exec(
            select(InboundMessage.id).where(InboundMessage.work_order_id == work_order_id)
        )
    }
    outbound = list(
        session.exec(select(OutboundMessage).where(OutboundMessage.work_order_id == work_order_id))
    )
    for sent in outbound:
        sent.raw = b""
        sent.recipients = ""
        sent.last_error = sent.bounce_detail = None
        for receipt in session.exec(select(PecReceipt).where(PecReceipt.outbound_id == sent.id)):
            receipt.recipient = receipt.error = ""
            inbound_ids.add(receipt.inbound_id)
    for entry in session.exec(
        select(InboundMessage).where(col(InboundMessage.id).in_(inbound_ids))
    ):
        if entry.raw_sha256:
            digests.add(entry.raw_sha256)
        entry.raw_sha256 = ""
        entry.sender = entry.subject = ""
        entry.reason = entry.error_detail = None
    for event in session.exec(select(Event).where(Event.work_order_id == work_order_id)):
        event.data = _figures_only(event.data)
    for due in session.exec(
        select(ProtocolRegistration).where(ProtocolRegistration.work_order_id == work_order_id)
    ):  # nothing left to register; a register's error message may quote the sender
        due.last_error = ""
        due.status = "dropped" if due.status == "pending" else due.status
    work_order.subject = ""
    work_order.postal_address = ""  # where letters went (a citizen with no e-mail address)
    work_order.taxpayer_id = None
    work_order.match_candidates = "[]"
    work_order.purged_at = utcnow()
    session.flush()
    contact_gone = _forget_contact(session, work_order.contact_id)
    record_event(session, "case.purged", work_order_id=work_order_id, actor=actor)
    return digests, len(messages), contact_gone


def _figures_only(data: str) -> str:
    """An audit event keeps its numbers and flags; texts (addresses, reasons) go."""
    try:
        values = json.loads(data)
    except ValueError:
        return "{}"
    if not isinstance(values, dict):
        return "{}"
    kept = {k: v for k, v in values.items() if isinstance(v, (int, float, bool)) or v is None}
    return json.dumps(kept)


def _forget_contact(session: Session, contact_id: int) -> int:
    kept = session.exec(
        select(WorkOrder.id)
        .where(WorkOrder.contact_id == contact_id)
        .where(col(WorkOrder.purged_at).is_(None))
        .limit(1)
    ).first()
    contact = session.get(Contact, contact_id)
    if kept is not None or contact is None or contact.email.endswith("@purged.invalid"):
        return 0
    contact.email = f"contact-{contact_id}@purged.invalid"  # unique, and never deliverable
    contact.name = ""
    contact.phone = ""
    contact.taxpayer_id = None
    return 1


def _still_used(session: Session, digest: str) -> bool:
    by_message = session.exec(
        select(InboundMessage.id).where(InboundMessage.raw_sha256 == digest).limit(1)
    ).first()
    by_attachment = session.exec(
        select(StoredAttachment.id).where(StoredAttachment.sha256 == digest).limit(1)
    ).first()
    return by_message is not None or by_attachment is not None
