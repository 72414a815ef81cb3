"""The inbound ledger: every message is recorded before anything acts on it, exactly once.

A message is the same message when it has the same mailbox position (IMAP UIDVALIDITY + UID,
or Maildir unique name) or the same Message-ID (the content hash when it has none), so a mail
sent to two of our mailboxes, or seen again after a UIDVALIDITY change, is processed once.
Also home of the per-mailbox IMAP cursor, advanced in the same transaction as the ledger row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.db import record_event
from mailbot.errors import NotFoundError
from mailbot.ingest.peek import Peek
from mailbot.models import InboundMessage, MailboxCursor, WorkOrder, utcnow
from mailbot.types import LedgerStatus, Origin, Outcome


def message_key(message_id: str | None, raw_sha256: str) -> str:
    return message_id if message_id else f"sha256:{raw_sha256}"


def seen_before(session: Session, origin: Origin, key: str) -> bool:
    """Whether the ledger has this message (by Message-ID or content) or this mailbox position.
    Asked once a message: statements built once, run on the Core connection (every earlier
    message of the transaction is flushed by its savepoint: `ingest.group`)."""
    params: dict[str, object] = {"key": key, "mailbox": origin.mailbox}
    if origin.uid is not None:
        statement = _SEEN_AT_UID if origin.uidvalidity is not None else _SEEN_AT_UID_ONLY
        params.update(uidvalidity=origin.uidvalidity, uid=origin.uid)
    elif origin.source_ref is not None:
        statement, params["source_ref"] = _SEEN_AT_REF, origin.source_ref
    else:
        statement = _SEEN_BY_KEY
    return session.connection().execute(statement, params).first() is not None


def _seen(place: sa.ColumnElement[bool] | None) -> sa.Select[tuple[int]]:
    table = InboundMessage.__table__  # type: ignore[attr-defined]
    by_key = table.c.message_key == sa.bindparam("key")
    where = by_key if place is None else sa.or_(by_key, place)
    return sa.select(table.c.id).where(where).limit(1)


_TABLE = InboundMessage.__table__  # type: ignore[attr-defined]
_SAME_MAILBOX = _TABLE.c.mailbox == sa.bindparam("mailbox")
_SEEN_AT_UID = _seen(
    sa.and_(
        _SAME_MAILBOX,
        _TABLE.c.uidvalidity == sa.bindparam("uidvalidity"),
        _TABLE.c.uid == sa.bindparam("uid"),
    )
)
_SEEN_AT_UID_ONLY = _seen(
    sa.and_(_SAME_MAILBOX, _TABLE.c.uidvalidity.is_(None), _TABLE.c.uid == sa.bindparam("uid"))
)
_SEEN_AT_REF = _seen(sa.and_(_SAME_MAILBOX, _TABLE.c.source_ref == sa.bindparam("source_ref")))
_SEEN_BY_KEY = _seen(None)


def record(
    session: Session,
    origin: Origin,
    *,
    peeked: Peek,
    raw_sha256: str,
    raw_size: int,
    status: LedgerStatus = LedgerStatus.RECEIVED,
) -> InboundMessage | None:
    """Add the ledger row; None when this message was seen before."""
    message_id = peeked.message_id
    key = message_key(message_id, raw_sha256)
    if seen_before(session, origin, key):
        return None
    entry = InboundMessage(
        mailbox=origin.mailbox,
        uidvalidity=origin.uidvalidity,
        uid=origin.uid,
        source_ref=origin.source_ref,
        message_key=key,
        message_id=message_id,
        sender=peeked.sender,
        subject=peeked.subject,
        raw_sha256=raw_sha256,
        raw_size=raw_size,
        received_at=origin.received_at,
        status=status,
    )
    session.add(entry)
    session.flush()
    return entry


def settle(
    entry: InboundMessage,
    status: LedgerStatus,
    *,
    kind: str | None = None,
    reason: str | None = None,
    work_order: WorkOrder | None = None,
) -> Outcome:
    """The message's row closed with what became of it: the last step of every flow, whose
    Outcome the flow returns."""
    entry.status = status
    entry.kind = kind
    entry.reason = reason[:2000] if reason else reason
    entry.work_order_id = work_order.id if work_order else None
    number = work_order.number if work_order else None
    return Outcome(status, entry.id, number, reason=entry.reason)


def load_cursor(session: Session, mailbox: str) -> MailboxCursor | None:
    return session.get(MailboxCursor, mailbox)


def advance_cursor(session: Session, origin: Origin) -> None:
    """Move the IMAP cursor past this message; Maildir sources keep no cursor."""
    if origin.uid is None or origin.uidvalidity is None:
        return
    cursor = session.get(MailboxCursor, origin.mailbox)
    if cursor is None:
        session.add(
            MailboxCursor(
                mailbox=origin.mailbox, uidvalidity=origin.uidvalidity, last_uid=origin.uid
            )
        )
    elif cursor.uidvalidity != origin.uidvalidity or origin.uid > cursor.last_uid:
        cursor.uidvalidity = origin.uidvalidity
        cursor.last_uid = origin.uid
        cursor.updated_at = utcnow()


# --- views for the command line ------------------------------------------------------------

QUARANTINE = (LedgerStatus.QUARANTINED, LedgerStatus.REJECTED)


def entries(
    session: Session,
    *,
    mailbox: str | None = None,
    statuses: Sequence[str] = (),
    limit: int = 200,
) -> list[tuple[InboundMessage, str | None]]:
    """Newest first, with the number of the case each message became part of."""
    query = select(InboundMessage, WorkOrder.number).outerjoin(
        WorkOrder, col(WorkOrder.id) == InboundMessage.work_order_id
    )
    if mailbox:
        query = query.where(InboundMessage.mailbox == mailbox)
    if statuses:
        query = query.where(col(InboundMessage.status).in_(statuses))
    rows = session.exec(query.order_by(col(InboundMessage.id).desc()).limit(limit))
    return [(entry, number) for entry, number in rows]


def position(entry: InboundMessage) -> int | str | None:
    return entry.uid if entry.uid is not None else entry.source_ref


def discard(session: Session, inbound_id: int, actor: str) -> InboundMessage:
    entry = session.get(InboundMessage, inbound_id)
    if entry is None or entry.status not in QUARANTINE:
        raise NotFoundError(f"no quarantined or rejected message {inbound_id}")
    entry.status = LedgerStatus.DISCARDED
    record_event(session, "inbound.discarded", inbound_id=inbound_id, actor=actor)
    return entry


def note_failure(
    session: Session, entry: InboundMessage, status: LedgerStatus, reason: str, detail: str
) -> None:
    """Why the message was not filed, on its row: the reason (a rejection's text, or the
    exception), and for a quarantined one the traceback and its digest (alike failures group)."""
    entry.status = status
    entry.reason = reason[:2000]
    if status is LedgerStatus.QUARANTINED:
        entry.error_detail = detail
        entry.error_digest = hashlib.sha256(detail.encode()).hexdigest()[:16]
    record_event(session, f"inbound.{status}", inbound_id=entry.id, reason=reason[:500])


CHANNEL_REF = "channel:"  # source_ref of what came by another channel: channel:<name>:<id>


def origin_of(entry: InboundMessage) -> Origin:
    """Where a recorded message came from, again (retry, release): its channel included."""
    ref = entry.source_ref or ""
    channel = ref.split(":")[1] if ref.startswith(CHANNEL_REF) and ref.count(":") >= 2 else "email"
    return Origin(
        mailbox=entry.mailbox,
        received_at=entry.received_at,
        uidvalidity=entry.uidvalidity,
        uid=entry.uid,
        source_ref=entry.source_ref,
        channel=channel,
    )
