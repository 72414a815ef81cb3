"""Draining the outbox through the transports (`sender`).

Rows are claimed (leased) in one short transaction, sent over one kept-open connection per
account, and marked in another: no database lock is held while the network is slow. What a
failure does is errors.py's table, as for mail read: a relay out of reach (RETRY) leaves its
account's rows waiting, no attempt counted; a 4xx (DEFER) retries the row with backoff; a 5xx
(REJECT) fails it. The stored bytes, and so the stored Message-ID, are sent as they are: a
resend after a crash is recognisably the same mail.

On SQLite a sent mail is noted in the sender's journal (sent_journal.py) and marked in the
database with the sender's next write transaction, not in one of its own: through a backlog
the drain holds SQLite's one write lock most of the time. PostgreSQL marks each as it goes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailbot.config import Settings
from mailbot.db import read_only, unit_of_work
from mailbot.errors import (
    DeliveryError,
    Disposition,
    MailbotError,
    RelayUnavailableError,
    disposition_for,
)
from mailbot.models import OutboundMessage, utcnow
from mailbot.replies import outbox
from mailbot.replies.sender import (
    Router,
    log,
)
from mailbot.replies.sent_journal import SentJournal


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """A server could not be reached and nothing went out: more sending now is pointless."""
        return bool(self.errors) and not self.sent


async def deliver_pending(
    engine: Engine,
    settings: Settings,
    router: Router,
    should_stop: Callable[[], bool] = lambda: False,
    journal: SentJournal | None = None,
) -> DeliveryReport:
    """Send every row due now; returns when none is left, or after the mail in hand once
    `should_stop()` (the rows claimed and not sent are given back, due at once). An account
    whose server cannot be reached is left alone for this pass (its rows wait, no attempt
    counted); the others go on. `journal`: the sender process's own (SQLite); without one,
    a pass on SQLite keeps one for itself. Returns with every sent mail marked; if it raises,
    the marks not yet folded stay in the journal for the next write transaction."""
    own = journal is None
    if journal is None:
        journal = SentJournal.for_engine(engine)
    try:
        report = await _deliver(engine, settings, router, should_stop, journal)
        _fold(engine, journal)
        return report
    except BaseException:
        with contextlib.suppress(Exception):  # the database may be what failed: kept for later
            _fold(engine, journal)
        raise
    finally:
        if own and journal is not None:
            journal.close()


SWEEP_SECONDS = 10.0


async def _deliver(
    engine: Engine,
    settings: Settings,
    router: Router,
    should_stop: Callable[[], bool],
    journal: SentJournal | None,
) -> DeliveryReport:
    report = DeliveryReport()
    # Rows are claimed in id order after the last one tried: one try a row a sweep, with a
    # claim that stays one statement. A sweep starts again from the first id every
    # `SWEEP_SECONDS`, so a row that became due meanwhile (a confirmation the protocol
    # register let go, a dead sender's lease run out) waits that long at most, not for the
    # end of a pass that can last a whole backlog.
    after, sweep = 0, time.monotonic()
    down: dict[str, str] = {}  # account → why it cannot be reached
    lease = timedelta(seconds=settings.outbox.lease_seconds)
    while len(down) < len(router.transports):
        if time.monotonic() - sweep >= SWEEP_SECONDS:
            after, sweep = 0, time.monotonic()
        # The marks journaled since the last write are folded first: those rows are not due.
        with _writing(engine, journal) as session:
            rows = outbox.claim_due(session, utcnow(), settings.outbox.batch_size, lease, after)
        if not rows:
            return report
        after = max(row.id for row in rows if row.id is not None)
        started = time.monotonic()
        held: dict[str, list[OutboundMessage]] = {}  # rows of accounts already down
        for index, row in enumerate(rows):
            if should_stop():
                _release(engine, settings, rows[index:], delay=0.0, journal=journal)
                break
            if time.monotonic() - started > lease.total_seconds() / 2:
                # Half the lease gone: give the rest back before it expires under us, and take
                # them again in this same pass (they were not tried).
                _release(engine, settings, rows[index:], delay=0.0, journal=journal)
                assert row.id is not None
                after = row.id - 1  # the rows from here on are taken again in this pass
                break
            account = router.route(row.account)
            if account in down:
                held.setdefault(account, []).append(row)
                continue
            assert row.id is not None
            with read_only(engine) as session:
                raw = outbox.raw_of(session, row.id)
            try:
                await router.get(account).send(row.envelope_from, row.recipients.split(", "), raw)
            except (DeliveryError, RelayUnavailableError) as exc:
                if disposition_for(exc) is Disposition.RETRY:
                    # An outage is not the message's fault: no attempt counted, its account's
                    # rows wait; other accounts go on.
                    down[account] = str(exc)
                    report.errors.append(str(exc))
                    held.setdefault(account, []).append(row)
                    log.warning("smtp unavailable", account=account or "smtp", error=str(exc))
                    continue
                _settle_failure(engine, settings, row, exc, report, journal=journal)
                continue
            if journal is None or not _journaled(journal, row.id):
                with unit_of_work(engine) as session:
                    outbox.mark_sent(session, row)
            report.sent += 1
            log.info("outbound sent", **_about(row))
        for account, waiting in held.items():
            delay = settings.outbox.retry_base_seconds
            _release(engine, settings, waiting, delay, down[account], journal=journal)
        if should_stop():
            break
    return report


def _writing(engine: Engine, journal: SentJournal | None) -> AbstractContextManager[Session]:
    """A write transaction; with a journal, it folds the marks noted since the last one."""
    return unit_of_work(engine) if journal is None else journal.writing(engine)


def _fold(engine: Engine, journal: SentJournal | None) -> None:
    if journal is not None and journal.unfolded:
        with journal.writing(engine):
            pass


def _settle_failure(
    engine: Engine,
    settings: Settings,
    row: OutboundMessage,
    exc: MailbotError,
    report: DeliveryReport,
    *,
    journal: SentJournal | None,
) -> None:
    with _writing(engine, journal) as session:
        fresh = session.get(OutboundMessage, row.id)
        assert fresh is not None
        if disposition_for(exc) is Disposition.REJECT:
            outbox.mark_failed(session, fresh, str(exc))
            report.failed += 1
            log.warning("outbound failed", **_about(row), error=str(exc))
        else:
            outbox.mark_retry(session, fresh, str(exc), settings.outbox)
            report.retried += 1
            log.info("outbound deferred", **_about(row), error=str(exc))


def _about(row: OutboundMessage) -> dict[str, object]:
    return {
        "outbound_id": row.id,
        "kind": row.kind,
        "message_id": row.message_id,
        "work_order_id": row.work_order_id,
    }


def _release(
    engine: Engine,
    settings: Settings,
    rows: list[OutboundMessage],
    delay: float,
    error: str = "",
    *,
    journal: SentJournal | None,
) -> None:
    if not rows:
        return
    when = utcnow() + timedelta(seconds=delay)
    with _writing(engine, journal) as session:
        for row in rows:
            assert row.id is not None
            outbox.release(session, row.id, when, settings.outbox, error)


def _journaled(journal: SentJournal, row_id: int) -> bool:
    """Noted in the journal, marked with the next write transaction; a journal that cannot be
    written (disk full, a read-only directory) marks the row in the database at once, as
    PostgreSQL does, so a mail the relay accepted is never sent again for it."""
    try:
        journal.append(row_id, utcnow())
    except OSError as exc:
        log.warning("sent journal not written, marked at once", error=str(exc))
        return False
    return True
