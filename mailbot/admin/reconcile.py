"""Mailbox against database: what the server holds that the ledger never recorded, what is
still waiting, UIDVALIDITY changes, outbox rows stuck, cases without a confirmation. With
`fix`, missing mail goes through the pipeline and stuck rows are due again.

It sits beside the pipeline (DESIGN.md: entry points → pipeline/reconcile → stages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.config import MailboxSettings
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError, TransientError
from mailbot.ingest.imap_source import ImapSource
from mailbot.ingest.ledger import load_cursor
from mailbot.ingest.maildir_source import MaildirSource
from mailbot.ingest.sources import make_source
from mailbot.models import Event, InboundMessage, OutboundMessage, WorkOrder, utcnow
from mailbot.pipeline import process_inbound
from mailbot.replies import outbox
from mailbot.services import Services

STUCK_AFTER = timedelta(hours=1)


@dataclass
class MailboxCheck:
    mailbox: str
    on_server: int = 0
    recorded: int = 0
    waiting: int = 0  # above the cursor: the daemon will take them
    # Never recorded: IMAP UIDs below the cursor, Maildir unique names already in cur/.
    missing: list[int | str] = field(default_factory=list)
    uidvalidity_changed: bool = False
    fixed: int = 0
    error: str = ""


@dataclass
class Reconciliation:
    mailboxes: list[MailboxCheck]
    stuck_outbox: list[int]
    without_confirmation: list[str]

    @property
    def clean(self) -> bool:
        return not (
            self.stuck_outbox
            or self.without_confirmation
            or any(m.missing or m.uidvalidity_changed or m.error for m in self.mailboxes)
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "clean": self.clean}


def reconcile(services: Services, mailbox: str | None = None, fix: bool = False) -> Reconciliation:
    known = [m.name for m in services.settings.mailboxes]
    if mailbox is not None and mailbox not in known:
        raise InputError(f"--mailbox: no mailbox {mailbox!r} (configured: {', '.join(known)})")
    checks = [
        _check_mailbox(services, m, fix)
        for m in services.settings.mailboxes
        if mailbox is None or m.name == mailbox
    ]
    stuck, without = _check_database(services, fix)
    return Reconciliation(checks, stuck, without)


def _check_mailbox(services: Services, settings: MailboxSettings, fix: bool) -> MailboxCheck:
    source = make_source(settings)
    if isinstance(source, MaildirSource):
        return _check_maildir(services, source, fix)
    assert isinstance(source, ImapSource)
    check = MailboxCheck(settings.name)
    try:
        source.connect()
        inventory = source.inventory()
        with unit_of_work(services.engine) as session:
            cursor = load_cursor(session, settings.name)
            known_uids = set(
                session.exec(
                    select(InboundMessage.uid).where(
                        InboundMessage.mailbox == settings.name,
                        InboundMessage.uidvalidity == source.uidvalidity,
                    )
                )
            )
            known_ids = _known_keys(session, inventory.values())
        check.on_server = len(inventory)
        check.uidvalidity_changed = cursor is not None and cursor.uidvalidity != source.uidvalidity
        last = cursor.last_uid if cursor and not check.uidvalidity_changed else 0
        for uid, message_id in sorted(inventory.items()):
            if uid in known_uids or (message_id and message_id in known_ids):
                check.recorded += 1
            elif uid > last:
                check.waiting += 1
            else:
                check.missing.append(uid)
        if fix and check.missing:
            for origin, raw in source.fetch_uids([int(uid) for uid in check.missing]):
                process_inbound(services, raw, origin)
                check.fixed += 1
    except TransientError as exc:
        check.error = str(exc)
    finally:
        source.close()
    return check


def _known_keys(session: Session, message_ids: Iterable[str | None]) -> set[str]:
    """Which of these Message-IDs the ledger has (whatever mailbox they came through)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return set()
    query = select(InboundMessage.message_key).where(col(InboundMessage.message_key).in_(ids))
    return set(session.exec(query))


def _check_maildir(services: Services, source: MaildirSource, fix: bool) -> MailboxCheck:
    """A Maildir's new/ is what waits; cur/ holds what was taken. A message in cur/ that the
    ledger never recorded (restored from a backup, moved there by a mail client) is missing."""
    check = MailboxCheck(source.name)
    try:
        source.connect()
        taken, check.waiting = source.inventory()
        with unit_of_work(services.engine) as session:
            known_refs = (
                set(
                    session.exec(
                        select(InboundMessage.source_ref).where(
                            InboundMessage.mailbox == source.name,
                            col(InboundMessage.source_ref).in_(list(taken)),
                        )
                    )
                )
                if taken
                else set()
            )
            known_ids = _known_keys(session, taken.values())
        check.on_server = len(taken) + check.waiting
        for ref, message_id in sorted(taken.items()):
            if ref in known_refs or (message_id and message_id in known_ids):
                check.recorded += 1
            else:
                check.missing.append(ref)
        if fix and check.missing:
            refs = [str(ref) for ref in check.missing]
            for origin, raw in source.fetch_refs(refs):
                process_inbound(services, raw, origin)
                check.fixed += 1
    except TransientError as exc:
        check.error = str(exc)
    return check


def _check_database(services: Services, fix: bool) -> tuple[list[int], list[str]]:
    now = utcnow()
    with unit_of_work(services.engine) as session:
        stuck = list(
            session.exec(
                select(OutboundMessage.id).where(
                    OutboundMessage.status == outbox.PENDING,
                    OutboundMessage.created_at < now - STUCK_AFTER,
                    OutboundMessage.next_attempt_at < now,
                )
            )
        )
        confirmed = select(OutboundMessage.work_order_id).where(
            OutboundMessage.kind == "confirmation"
        )
        # A confirmation the rate limit held back was decided, not lost.
        held = select(Event.work_order_id).where(Event.kind == "message.suppressed")
        without = list(
            session.exec(
                select(WorkOrder.number)
                .where(
                    sa.not_(col(WorkOrder.id).in_(confirmed)),
                    sa.not_(col(WorkOrder.id).in_(held)),
                )
                .order_by(col(WorkOrder.id))
            )
        )
        if fix:
            for row_id in stuck:
                if row_id is not None:
                    outbox.release(session, row_id, now, services.settings.outbox)
            record_event(session, "reconcile.fixed", stuck=len(stuck))
    return [s for s in stuck if s is not None], without
