"""What a case hands to the register adapter: for its incoming document, the citizen's original
message (.eml) and its attachments, read from the content-addressed store and checked against
their SHA-256, and the metadata the registration needs (case number, date received, sender's
name and address, subject); for the office's reply (outgoing, in the same file), the message as
queued and its attachments, with the number the incoming document got. No codice fiscale, phone
or text of the message beyond the documents themselves."""

from __future__ import annotations

import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailbot.models import (
    Contact,
    ConversationMessage,
    InboundMessage,
    OutboundMessage,
    StoredAttachment,
    WorkOrder,
)
from mailbot.protocol.adapter import INCOMING, OUTGOING, AdapterError, File, Submission, safe_names
from mailbot.storage import Store
from mailbot.types import deliverable


def incoming(
    session: Session, store: Store, work_order: WorkOrder, request_id: str, tz: ZoneInfo
) -> Submission:
    """AdapterError when a stored document is missing or damaged (the case keeps waiting)."""
    if work_order.purged_at is not None:
        raise AdapterError("the case was purged: its documents are no longer held")
    first = session.exec(
        select(ConversationMessage)
        .where(
            ConversationMessage.work_order_id == work_order.id,
            ConversationMessage.direction == "in",
        )
        .order_by(col(ConversationMessage.id))
    ).first()
    inbound = session.get(InboundMessage, first.inbound_id) if first and first.inbound_id else None
    found: list[tuple[str, str, str, str]] = []  # digest, name, role, mime
    if inbound is not None and inbound.raw_sha256:
        name = f"{work_order.number.replace('/', '-')}.eml"
        found.append((inbound.raw_sha256, name, "original", "message/rfc822"))
    if first is not None:
        rows = session.exec(
            select(StoredAttachment)
            .where(StoredAttachment.message_id == first.id)
            .order_by(col(StoredAttachment.id))
        )
        for a in rows:
            mime = a.content_type or "application/octet-stream"
            found.append((a.sha256, a.filename, "attachment", mime))
    names = safe_names([f[1] for f in found])
    files = tuple(
        File(_checked(store, digest, name), name, role, mime, digest)
        for (digest, _, role, mime), name in zip(found, names, strict=True)
    )
    contact = session.get(Contact, work_order.contact_id)
    metadata = {
        "request_id": request_id,
        "case_number": work_order.number,
        "received_at": work_order.received_at.astimezone(tz).isoformat(timespec="seconds"),
        "received_date": work_order.received_at.astimezone(tz).date().isoformat(),
        "channel": work_order.channel,
        "sender": {
            "name": contact.name if contact else "",
            "email": contact.email if contact and deliverable(contact.email) else "",
        },
        "subject": work_order.subject or (first.subject if first else ""),
        "message_id": first.message_id if first else "",
    }
    return Submission(INCOMING, metadata, files)


def outgoing(
    session: Session,
    store: Store,
    work_order: WorkOrder,
    message_id: int,
    *,
    request_id: str,
    tz: ZoneInfo,
) -> Submission:
    """The office's reply: the message as queued (`.eml`) and the attachments it carried."""
    if work_order.purged_at is not None:
        raise AdapterError("the case was purged: its documents are no longer held")
    message = session.get(ConversationMessage, message_id)
    sent = (
        session.get(OutboundMessage, message.outbound_id)
        if message and message.outbound_id
        else None
    )
    if message is None or sent is None:
        raise AdapterError("the reply is no longer held")
    rows = session.exec(
        select(StoredAttachment)
        .where(StoredAttachment.message_id == message_id)
        .order_by(col(StoredAttachment.id))
    ).all()
    number = work_order.number.replace("/", "-")
    names = safe_names([f"{number}-risposta.eml", *(a.filename for a in rows)])
    files = [
        File(sent.raw, names[0], "reply", "message/rfc822", hashlib.sha256(sent.raw).hexdigest())
    ]
    for a, name in zip(rows, names[1:], strict=True):
        mime = a.content_type or "application/octet-stream"
        files.append(File(_checked(store, a.sha256, name), name, "attachment", mime, a.sha256))
    contact = session.get(Contact, work_order.contact_id)
    recorded = [n for n in work_order.protocollo.split(", ") if n]
    metadata = {
        "request_id": request_id,
        "case_number": work_order.number,
        "incoming_numero": recorded[0] if recorded else "",  # the same file's first number
        "sent_at": message.date.astimezone(tz).isoformat(timespec="seconds"),
        "sent_date": message.date.astimezone(tz).date().isoformat(),
        "recipient": {
            "name": contact.name if contact else "",
            "email": contact.email if contact and deliverable(contact.email) else "",
        },
        "subject": message.subject,
        "message_id": message.message_id or "",
    }
    return Submission(OUTGOING, metadata, tuple(files))


def _checked(store: Store, digest: str, name: str) -> Path:
    path = store.path(digest)
    try:
        with path.open("rb") as fh:
            actual = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise AdapterError(f"{name}: the stored copy cannot be read: {exc.strerror}") from None
    if actual != digest:
        raise AdapterError(f"{name}: the stored copy does not match its digest (damaged)")
    return path
