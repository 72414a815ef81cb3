"""The flow of one inbound message, and nothing else: reading `process_inbound` tells what
mailbot does with mail. Stages never call each other; values pass through here.

The crash-safe sequence (DESIGN.md): original bytes to the store; the parse; then one
transaction that records the ledger row, classifies, matches, opens the work order, writes the
outbox rows and advances the mailbox cursor. A permanent mail problem or an unexpected error rolls
that back and records the message as rejected or quarantined (bytes kept, cursor advanced); an
outage rolls back and propagates so the mailbox loop backs off without advancing.

Deviations from DESIGN.md, on purpose: the cursor is advanced inside the transaction (the same
guarantee, the ledger makes a replay harmless, one commit less); the message is parsed before
its transaction (parsing reads no table, and on SQLite the transaction holds the write lock the
sender process needs too: issue 19). Step 3 is one transaction per group of messages fetched
together, not per message (`ingest.group`; the drain bounds a group to 20 messages or about
0.3 s, so the sender and the web form still get the write lock between groups): the fence once
at its start, each message in a savepoint (taken only once one of them failed), the cursor
once at its end, one commit. Per message, the transaction's begin and commit, the fence and
the cursor were about 15% of a backlog's drain (issue 32); a permanent failure takes back only
its message's savepoint and is recorded in the group's transaction, an outage takes back the
group, a crash redoes the uncommitted
group (its mails were queued in it, so still at most one duplicate mail per kill). The source,
the metrics and the log hear of a message only after its group committed. A message alone
(IDLE, the web form) is a group of one, committed at once. The loop over a mailbox is
`runtime.drain`, the flows' steps are `cases`' modules, a failure's row `ledger.note_failure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlmodel import Session

from mailbot.cases import certify, delivery_reports, intake, messages, staff_mail, unthreaded
from mailbot.db import record_event, unit_of_work
from mailbot.errors import Disposition, NotFoundError, disposition_for
from mailbot.ingest import classify, group, ledger, reading, spam
from mailbot.ingest.peek import peek
from mailbot.ingest.reading import Ahead, Read
from mailbot.log import bind_case, bind_message, get_logger
from mailbot.matching import matcher
from mailbot.models import InboundMessage, WorkOrder
from mailbot.replies import threading
from mailbot.services import Services
from mailbot.types import Address, Kind, LedgerStatus, Origin, Outcome, ParsedMessage

log = get_logger(__name__)


Fence = group.Fence


def unfenced(_session: Session) -> None:
    """One instance alone (run --once, tests, Maildir): nobody to be fenced from."""


def process_inbound(
    services: Services, raw: bytes, origin: Origin, fence: Fence = unfenced
) -> Outcome:
    """One message alone, a group of one (the web form, Maildir, reconciliation, tests).
    `fence(session)` runs first in the transaction and raises if this instance no longer holds
    the mailbox (leases.Leases.fence): nothing is then written."""
    return file(services, [prepare(services, raw, origin)], fence)[0]


def prepare(
    services: Services, raw: bytes, origin: Origin, ahead: Ahead | None = None
) -> group.Pending:
    """Before any transaction: the original into the store, then screened and parsed (no table
    read). An outage raises; a permanent problem is kept for the message's turn in its group.
    `ahead`: the message already stored and read by the read-ahead process (`runtime.readahead`)."""
    # The evidence is safe before anything else happens (an oversized one already streamed).
    digest = ahead.digest if ahead else origin.stored_sha256 or services.store.put(raw)
    peeked = ahead.peeked if ahead and ahead.peeked else peek(raw)
    pending = group.Pending(origin, peeked, digest, origin.size or len(raw))
    with _bound(pending):
        try:
            screen = _screen(services, raw, origin, ahead)
            read = ahead.read if ahead else _read(raw)
        except Exception as exc:
            if disposition_for(exc) is Disposition.RETRY:
                raise
            pending.failed = exc
            return pending

    message_id = pending.peeked.message_id

    def act(session: Session, entry: InboundMessage) -> Outcome:
        # `pending` itself is not named here: a cycle through `pending.act` would keep the
        # parsed message (body, attachments) alive until the cyclic collector's next full pass.
        with _binding(origin, message_id):
            return _act(services, session, entry, raw, origin, screen=screen, read=read)

    pending.act = act
    return pending


def file(services: Services, pending: Sequence[group.Pending], fence: Fence) -> list[Outcome]:
    """Messages prepared together, filed in one transaction (`ingest.group`) and logged once it
    committed; the outcomes in their order."""
    outcomes = group.file(services.engine, fence, pending)
    for one, outcome in zip(pending, outcomes, strict=True):
        with _bound(one, work_order=outcome.work_order_number):
            if one.failed is not None:
                log.warning("inbound not filed", status=outcome.status, reason=outcome.reason)
            elif not outcome.duplicate:
                log.info(
                    "inbound processed", status=outcome.status, work_order=outcome.work_order_number
                )
    return outcomes


def _bound(pending: group.Pending, work_order: str | None = None) -> AbstractContextManager[None]:
    """Every line logged about the message names it; `work_order` is bound as soon as the
    message has a case (`bind_case`)."""
    return _binding(pending.origin, pending.peeked.message_id, work_order)


def _binding(
    origin: Origin, message_id: str | None, work_order: str | None = None
) -> AbstractContextManager[None]:
    return bind_message(
        mailbox=origin.mailbox,
        uid=origin.uid or origin.source_ref,
        message_id=message_id,
        work_order=work_order,
    )


def _screen(
    services: Services, raw: bytes, origin: Origin, ahead: Ahead | None = None
) -> spam.Screen:
    """Mail and web submissions are screened for spam; what an operator typed in is not. The
    filters' headers were asked already when the read-ahead process read the message."""
    if origin.channel not in spam.SCREENED_CHANNELS:
        return spam.Screen(check=False)
    recipient = services.settings.mailbox(origin.mailbox).address
    if ahead is not None:
        return spam.screen(
            raw, services.settings.spam, recipient, headers=ahead.filtered, judged=ahead.judged
        )
    return spam.screen(raw, services.settings.spam, recipient)


_read = reading.read  # what the case is about, from the bytes alone
opened = reading.opened  # `admin.rematch` reads a stored original again through this


def _act(
    services: Services,
    session: Session,
    entry: InboundMessage,
    raw: bytes,
    origin: Origin,
    *,
    screen: spam.Screen,
    read: Read,
) -> Outcome:
    certified, parsed = read
    if parsed is None:
        assert certified is not None
        return delivery_reports.record_pec_receipt(services, session, entry, certified, raw)
    if certified is not None:
        parsed = certify.certified_sender(
            services, session, entry, certified, parsed=parsed, raw=raw
        )
    mailbox = services.settings.mailbox(origin.mailbox)
    web = origin.unverified  # the web form: a new case, whatever its subject or address says
    ref = None if web else threading.resolve(session, services.secret, parsed, mailbox.address)
    ref = ref or (None if web else unthreaded.resolve(services, session, parsed, origin.channel))
    work_order = session.get(WorkOrder, ref.work_order_id) if ref else None
    if work_order is not None:
        bind_case(work_order.number)
    verdict = classify.classify(
        parsed,
        services.classify_context,
        messages.thread_of(services, session, ref, work_order, parsed),
    )
    mail = messages.Incoming(entry, parsed, origin)
    if verdict.kind is Kind.BOUNCE:
        return delivery_reports.record_bounce(services, session, mail, raw)
    if verdict.kind is Kind.OPERATOR_REPLY and work_order is not None:
        return staff_mail.handle_operator_reply(services, session, mail, work_order)
    if verdict.kind is Kind.STAFF_MAIL and ref is not None and work_order is not None:
        return staff_mail.handle(services, session, mail, ref, work_order)
    if verdict.kind not in (Kind.CITIZEN, Kind.CITIZEN_FOLLOWUP):
        record_event(session, "inbound.ignored", inbound_id=entry.id, reason=verdict.reason)
        return ledger.settle(
            entry, LedgerStatus.IGNORED, kind=verdict.kind, reason=verdict.reason,
            work_order=work_order,
        )  # fmt: skip
    named = None if web else staff_mail.case_named(services, session, mail, ref, work_order)
    if named is not None:  # never a citizen's: no case, the writer is told how to answer
        return staff_mail.refer_to_notification(services, session, mail, named, work_order)
    held = screen.headers or screen.rspamd
    if screen.check and held is not None:
        return _hold(session, entry, held, verdict.kind)
    trust = {"trust_from": mailbox.trust_from, "web": web}
    match = matcher.match_sender(session, sender_evidence(services, parsed, mail.sender, **trust))
    if verdict.kind is Kind.CITIZEN_FOLLOWUP and ref is not None and work_order is not None:
        return intake.add_followup(services, session, mail, work_order, match, via=ref.via)
    return intake.open_case(services, session, mail, match)


def sender_evidence(
    services: Services, parsed: ParsedMessage, sender: Address, *, trust_from: bool,
    web: bool = False,
) -> matcher.Evidence:  # fmt: skip
    matching = services.settings.matching
    return matcher.evidence(
        parsed, sender, trust_from=trust_from, unverified=web,
        trusted_ids=matching.trusted_authserv_ids, name_similarity=matching.name_similarity,
    )  # fmt: skip


def _hold(session: Session, entry: InboundMessage, held: spam.Verdict, kind: Kind) -> Outcome:
    """Spam: kept with the filter's reason and score, no case, nothing sent to anyone; an admin
    can release it (`mailbot spam release`)."""
    reason = held.describe()[:2000]
    entry.spam_score = held.score
    record_event(session, "inbound.spam", inbound_id=entry.id, filter=held.filter, score=held.score)
    return ledger.settle(entry, LedgerStatus.SPAM, kind=kind, reason=reason)


RETRYABLE = (LedgerStatus.QUARANTINED, LedgerStatus.REJECTED)


def retry(services: Services, inbound_id: int) -> Outcome:
    """Run a quarantined or rejected message through the pipeline again, from its stored
    bytes, on its own ledger row (after a fix, or a configuration change)."""
    return _again(services, inbound_id, RETRYABLE, "inbound.retried", None)


def release(services: Services, inbound_id: int, actor: str) -> Outcome:
    """A message held as spam, processed as if it had just arrived (its case opened, the
    confirmation queued) without asking the filters again: an admin said it is not spam."""
    return _again(services, inbound_id, (LedgerStatus.SPAM,), "spam.released", actor)


def _again(
    services: Services, inbound_id: int, allowed: tuple[LedgerStatus, ...], event: str,
    actor: str | None,
) -> Outcome:  # fmt: skip
    with unit_of_work(services.engine) as session:
        entry = session.get(InboundMessage, inbound_id)
        if entry is None or entry.status not in allowed:
            what = " or ".join(str(s) for s in allowed)
            raise NotFoundError(f"no {what} message {inbound_id}")
    raw = services.store.get(entry.raw_sha256)
    origin = ledger.origin_of(entry)
    released = actor is not None
    try:
        screen = spam.Screen(check=False) if released else _screen(services, raw, origin)
        read = _read(raw)
        with unit_of_work(services.engine) as session:
            fresh = session.get(InboundMessage, inbound_id)
            assert fresh is not None
            record_event(
                session, event, inbound_id=inbound_id, previous=fresh.status, actor=actor or ""
            )
            fresh.reason = fresh.error_detail = fresh.error_digest = None
            return _act(services, session, fresh, raw, origin, screen=screen, read=read)
    except Exception as exc:
        if disposition_for(exc) is Disposition.RETRY:
            raise
        status, reason, detail = group.failure(exc)
        with unit_of_work(services.engine) as session:
            fresh = session.get(InboundMessage, inbound_id)
            assert fresh is not None
            ledger.note_failure(session, fresh, status, reason, detail)
        return Outcome(status, inbound_id, reason=reason)
