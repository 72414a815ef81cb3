"""The flow of one inbound message, and nothing else: reading `process_inbound` tells what
mailbot does with mail. Stages never call each other; values pass through here.

The crash-safe sequence (DESIGN.md): original bytes to the store; then one transaction that
records the ledger row, parses, classifies, matches, opens the work order, writes the outbox
rows and advances the mailbox cursor. A permanent mail problem or an unexpected error rolls
that back and records the message as rejected or quarantined (bytes kept, cursor advanced); an
outage rolls back and propagates so the mailbox loop backs off without advancing.

Deviation from DESIGN.md, on purpose: the cursor is advanced inside the message's transaction
rather than in a step after it. The guarantee is the same (the ledger makes a replay harmless)
and it saves one commit per message.
"""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailbot import workorders
from mailbot.config import Settings
from mailbot.db import record_event, unit_of_work
from mailbot.errors import Disposition, MailError, disposition_for
from mailbot.ingest import classify, ledger, parse
from mailbot.ingest.sources import Source
from mailbot.log import bind_message, get_logger
from mailbot.matching import matcher
from mailbot.models import InboundMessage
from mailbot.replies import outbox
from mailbot.replies.compose import Composer
from mailbot.storage import Store
from mailbot.types import Kind, LedgerStatus, Origin, Outcome, ParsedMessage

log = get_logger(__name__)


@dataclass(frozen=True)
class Services:
    """Everything a stage needs, built once by the entry point and passed explicitly."""

    settings: Settings
    engine: Engine
    store: Store
    composer: Composer
    classify_context: classify.Context


def build_services(settings: Settings, engine: Engine, store: Store, secret: bytes) -> Services:
    own = {settings.smtp.from_address, *(m.address for m in settings.mailboxes)}
    return Services(
        settings=settings,
        engine=engine,
        store=store,
        composer=Composer(settings, secret),
        classify_context=classify.Context(own_addresses=frozenset(own)),
    )


def process_inbound(services: Services, raw: bytes, origin: Origin) -> Outcome:
    digest = services.store.put(raw)  # the evidence is safe before anything else happens
    message_id = ledger.peek_message_id(raw)
    with bind_message(
        mailbox=origin.mailbox, uid=origin.uid or origin.source_ref, message_id=message_id
    ):
        try:
            with unit_of_work(services.engine) as session:
                entry = ledger.record(
                    session, origin, message_id=message_id, raw_sha256=digest, raw_size=len(raw)
                )
                if entry is None:
                    ledger.advance_cursor(session, origin)
                    return Outcome(
                        LedgerStatus.IGNORED, None, reason="already seen", duplicate=True
                    )
                outcome = _act(services, session, entry, raw, origin)
                ledger.advance_cursor(session, origin)
        except Exception as exc:
            if disposition_for(exc) is Disposition.RETRY:
                raise
            return _record_failure(
                services, raw=raw, origin=origin, digest=digest, message_id=message_id, exc=exc
            )
        log.info("inbound processed", status=outcome.status, work_order=outcome.work_order_number)
        return outcome


def _act(
    services: Services, session: Session, entry: InboundMessage, raw: bytes, origin: Origin
) -> Outcome:
    parsed = parse.parse(raw)
    verdict = classify.classify(parsed, services.classify_context)
    if verdict.kind is not Kind.CITIZEN:
        ledger.settle(entry, LedgerStatus.IGNORED, kind=verdict.kind, reason=verdict.reason)
        record_event(session, "inbound.ignored", inbound_id=entry.id, reason=verdict.reason)
        return Outcome(LedgerStatus.IGNORED, entry.id, reason=verdict.reason)
    if parsed.sender is None:
        raise MailError("no usable sender address in From")
    return _file_citizen_mail(services, session, entry, parsed, origin)


def _file_citizen_mail(
    services: Services,
    session: Session,
    entry: InboundMessage,
    parsed: ParsedMessage,
    origin: Origin,
) -> Outcome:
    settings = services.settings
    assert parsed.sender is not None
    mailbox = settings.mailbox(origin.mailbox)
    office = settings.office(mailbox.office)
    match = matcher.match_sender(session, parsed.sender)
    work_order = workorders.open_work_order(
        session,
        office=office,
        mailbox=mailbox.name,
        subject=parsed.subject,
        match=match,
        received_at=origin.received_at,
        timezone=settings.timezone,
        language=settings.language,
        inbound_id=entry.id,
    )
    workorders.add_message(
        session,
        work_order,
        direction="in",
        kind="citizen",
        from_address=parsed.sender.email,
        to=[a.email for a in parsed.to],
        date=origin.received_at,
        subject=parsed.subject,
        body_text=parsed.text,
        message_id=parsed.message_id,
        inbound_id=entry.id,
        attachments=[
            workorders.NewAttachment(
                a.filename, a.content_type, len(a.payload), services.store.put(a.payload)
            )
            for a in parsed.attachments
        ],
    )
    confirmation = services.composer.confirmation(
        number=work_order.number,
        language=work_order.language,
        citizen=parsed.sender,
        subject=parsed.subject,
        received_at=origin.received_at,
        due_at=work_order.due_at,
        office=office,
        reply_to=mailbox.address,
        in_reply_to=parsed.message_id,
        references=parsed.references,
    )
    queued = outbox.enqueue(
        session,
        kind="confirmation",
        message_id=confirmation.message_id,
        envelope_from=confirmation.sender,
        recipients=confirmation.recipients,
        raw=confirmation.raw,
        work_order_id=work_order.id,
    )
    workorders.add_message(
        session,
        work_order,
        direction="out",
        kind="confirmation",
        from_address=confirmation.sender,
        to=list(confirmation.recipients),
        date=queued.created_at,
        subject=confirmation.subject,
        body_text=confirmation.text,
        message_id=confirmation.message_id,
        outbound_id=queued.id,
    )
    ledger.settle(entry, LedgerStatus.FILED, kind=Kind.CITIZEN, work_order_id=work_order.id)
    return Outcome(LedgerStatus.FILED, entry.id, work_order_number=work_order.number)


def _record_failure(
    services: Services,
    *,
    raw: bytes,
    origin: Origin,
    digest: str,
    message_id: str | None,
    exc: Exception,
) -> Outcome:
    disposition = disposition_for(exc)
    status = LedgerStatus(disposition.value)
    detail = "".join(traceback.format_exception(exc))
    reason = str(exc) if isinstance(exc, MailError) else f"{type(exc).__name__}: {exc}"
    with unit_of_work(services.engine) as session:
        entry = ledger.record(
            session,
            origin,
            message_id=message_id,
            raw_sha256=digest,
            raw_size=len(raw),
            status=status,
        )
        if entry is not None:
            entry.reason = reason[:2000]
            if status is LedgerStatus.QUARANTINED:
                entry.error_detail = detail
                entry.error_digest = hashlib.sha256(detail.encode()).hexdigest()[:16]
            record_event(session, f"inbound.{status}", inbound_id=entry.id, reason=reason[:500])
        ledger.advance_cursor(session, origin)
    log.warning("inbound not filed", status=status, reason=reason)
    return Outcome(status, entry.id if entry else None, reason=reason)


@dataclass
class DrainReport:
    counts: dict[str, int]

    def add(self, outcome: Outcome) -> None:
        key = "duplicate" if outcome.duplicate else str(outcome.status)
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def drain(
    services: Services, source: Source, should_stop: Callable[[], bool] = lambda: False
) -> DrainReport:
    """Process everything new in one mailbox, oldest first, until it is empty or told to stop."""
    report = DrainReport(counts={})
    while not should_stop():
        with unit_of_work(services.engine) as session:
            cursor = ledger.load_cursor(session, source.name)
        seen_any = False
        for origin, raw in source.fetch(cursor):
            seen_any = True
            outcome = process_inbound(services, raw, origin)
            source.processed(origin)
            report.add(outcome)
            if should_stop():
                break
        if not seen_any:
            break
    return report
