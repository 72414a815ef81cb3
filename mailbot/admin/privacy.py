"""Personal data over time (GDPR): purge closed cases past retention, export what is held about
one person.

`purge` keeps what the register, the SLA report and the annual report count (number, office,
mailbox, category, dates, deadline, term, pauses, refund, rating, protocollo, how the sender was
matched) and removes what identifies or quotes the person: message texts and subjects, original
messages and attachments (objects in the store, unless another kept message holds the same
bytes), sent messages' bytes and recipients, PEC receipts' recipients and originals, the text
of audit events, the link to the taxpayer, and the contact itself once none of its cases is
kept. The taxpayer registry is the institution's own register, imported from its source, and
is not touched here. Every purged case gets a `case.purged` event and the run a `purge.run`.

`export_person` answers an access request: a ZIP with `data.json` (registry entry, contacts,
cases, messages, attachments list, what was sent and the audit events) and, per case, the case
file (HTML) and every original message; it records a `contact.exported` event.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from mailbot.cases import transcript
from mailbot.cases.workorders import CLOSED
from mailbot.config import parse_age
from mailbot.db import record_event, unit_of_work
from mailbot.errors import NotFoundError
from mailbot.log import get_logger
from mailbot.matching.codes import normalise_code
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    InboundMessage,
    OutboundMessage,
    PecReceipt,
    StoredAttachment,
    Taxpayer,
    TaxpayerAddress,
    WorkOrder,
    utcnow,
)
from mailbot.services import Services
from mailbot.types import MatchState, normalise_address

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
                report.messages += len(_messages(session, work_order_id))
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


def _messages(session: Session, work_order_id: int) -> list[ConversationMessage]:
    return list(
        session.exec(
            select(ConversationMessage).where(ConversationMessage.work_order_id == work_order_id)
        )
    )


def _purge_case(session: Session, work_order_id: int, actor: str) -> tuple[set[str], int, int]:
    """Scrub one case in the caller's transaction: (store objects to delete, messages
    scrubbed, 1 if its contact went too)."""
    work_order = session.get(WorkOrder, work_order_id, with_for_update=True)
    assert work_order is not None
    digests: set[str] = set()
    messages = _messages(session, work_order_id)
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
    work_order.subject = ""
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


# --- access requests ---------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


_OWN = frozenset({MatchState.LINKED, MatchState.UNVERIFIED, MatchState.CONFIRMED})


def export_person(services: Services, who: str, actor: str = "mailbot") -> tuple[bytes, str]:
    """Everything held about the person with this address or codice fiscale / partita IVA:
    (ZIP bytes, a one-line summary). NotFoundError when nothing is held."""
    with unit_of_work(services.engine) as session:
        taxpayer, contacts = _find_person(session, who)
        contact_ids = [c.id for c in contacts]
        found = list(
            session.exec(
                select(WorkOrder)
                .where(
                    or_(
                        col(WorkOrder.contact_id).in_(contact_ids),
                        col(WorkOrder.taxpayer_id) == (taxpayer.id if taxpayer else -1),
                    )
                )
                .order_by(col(WorkOrder.id))
            )
        )
        # A case is the person's own when they wrote it, or when the link to them is trusted;
        # a stranger who typed their codice fiscale made a claim: listed, never shown.
        cases = [wo for wo in found if wo.contact_id in contact_ids or wo.match_state in _OWN]
        claims = [wo for wo in found if wo not in cases]
        data: dict[str, Any] = {
            "request": who,
            "exported_at": _iso(utcnow()),
            "taxpayer": _taxpayer(session, taxpayer) if taxpayer else None,
            "contacts": [
                {
                    "email": c.email,
                    "name": c.name,
                    "pec_verified": c.pec_verified,
                    "first_seen": _iso(c.created_at),
                }
                for c in contacts
            ],
            "cases": [_case(session, wo) for wo in cases],
            "unconfirmed_claims": [
                {
                    "number": wo.number,
                    "received_at": _iso(wo.received_at),
                    "match_state": wo.match_state,
                    "note": "a sender named this person (a code in the message); not shown",
                }
                for wo in claims
            ],
        }
    files: list[tuple[str, bytes]] = []
    for wo in cases:
        folder = f"cases/{wo.number.replace('/', '-')}"
        if wo.purged_at is None:
            files.append((f"{folder}/case.html", transcript.export(services, wo.number, "html")))
        for name, raw in transcript.case_file(services, wo.number)[3]:
            files.append((f"{folder}/{name}", raw))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, raw in files:
            archive.writestr(name, raw)
    with unit_of_work(services.engine) as session:
        record_event(
            session,
            "contact.exported",
            actor=actor,
            contacts=len(contacts),
            taxpayer=taxpayer is not None,
            cases=len(cases),
        )
        for wo in cases:
            record_event(session, "work_order.exported", work_order_id=wo.id, actor=actor)
    summary = f"{len(contacts)} contact(s), {len(cases)} case(s), {len(files)} file(s)" + (
        f", {len(claims)} unconfirmed claim(s) listed without content" if claims else ""
    )
    return buffer.getvalue(), summary


def _find_person(session: Session, who: str) -> tuple[Taxpayer | None, list[Contact]]:
    code = normalise_code(who)
    taxpayer: Taxpayer | None = None
    contacts: list[Contact] = []
    if code is not None:
        taxpayer = session.exec(select(Taxpayer).where(Taxpayer.codice_fiscale == code)).first()
        if taxpayer is not None:
            contacts = list(session.exec(select(Contact).where(Contact.taxpayer_id == taxpayer.id)))
    else:
        address = normalise_address(who)
        contact = session.exec(select(Contact).where(Contact.email == address)).first()
        contacts = [contact] if contact else []
        if contact is not None and contact.taxpayer_id is not None:
            taxpayer = session.get(Taxpayer, contact.taxpayer_id)
        if taxpayer is None:
            registered = session.exec(
                select(TaxpayerAddress).where(TaxpayerAddress.address == address)
            ).first()
            taxpayer = session.get(Taxpayer, registered.taxpayer_id) if registered else None
    if taxpayer is None and not contacts:
        raise NotFoundError(f"nothing is held about {who!r} (no contact, no registry entry)")
    return taxpayer, contacts


def _taxpayer(session: Session, taxpayer: Taxpayer) -> dict[str, Any]:
    addresses = session.exec(
        select(TaxpayerAddress).where(TaxpayerAddress.taxpayer_id == taxpayer.id)
    )
    return {
        "codice_fiscale": taxpayer.codice_fiscale,
        "name": taxpayer.name,
        "postal_address": taxpayer.postal_address,
        "addresses": [{"address": a.address, "kind": a.kind} for a in addresses],
        "removed_from_registry": _iso(taxpayer.removed_at),
    }


def _case(session: Session, wo: WorkOrder) -> dict[str, Any]:
    messages = _messages(session, wo.id) if wo.id is not None else []
    sent = session.exec(select(OutboundMessage).where(OutboundMessage.work_order_id == wo.id))
    events = session.exec(select(Event).where(Event.work_order_id == wo.id).order_by(col(Event.id)))
    return {
        "number": wo.number,
        "status": wo.status,
        "office": wo.office,
        "subject": wo.subject,
        "category": wo.category,
        "received_at": _iso(wo.received_at),
        "due_at": _iso(wo.due_at),
        "closed_at": _iso(wo.closed_at),
        "purged_at": _iso(wo.purged_at),
        "protocollo": wo.protocollo,
        "satisfaction": wo.satisfaction,
        "matched_by": wo.match_rule,
        "messages": [
            {
                "direction": m.direction,
                "kind": m.kind,
                "date": _iso(m.date),
                "from": m.from_address,
                "to": m.to_addresses,
                "subject": m.subject,
                "text": m.body_text,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in session.exec(
                        select(StoredAttachment).where(StoredAttachment.message_id == m.id)
                    )
                ],
            }
            for m in messages
        ],
        "sent": [
            {"kind": s.kind, "to": s.recipients, "status": s.status, "sent_at": _iso(s.sent_at)}
            for s in sent
        ],
        "events": [
            {"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "data": json.loads(e.data)}
            for e in events
        ],
    }
