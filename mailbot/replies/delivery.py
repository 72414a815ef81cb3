"""Draining the outbox through the transports (`sender`).

Rows are claimed (leased) in one short transaction, sent over one kept-open connection per
account, and marked in another: no database lock is held while the network is slow. What a
failure does is errors.py's table, as for mail read: a relay out of reach (RETRY) leaves its
account's rows waiting, no attempt counted; a 4xx (DEFER) retries the row with backoff; a 5xx
(REJECT) fails it. The stored bytes, and so the stored Message-ID, are sent as they are: a
resend after a crash is recognisably the same mail.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

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
) -> DeliveryReport:
    """Send every row due now; returns when none is left, or after the mail in hand once
    `should_stop()` (the rows claimed and not sent are given back, due at once). An account
    whose server cannot be reached is left alone for this pass (its rows wait, no attempt
    counted); the others go on."""
    report = DeliveryReport()
    tried: set[int] = set()
    down: dict[str, str] = {}  # account → why it cannot be reached
    lease = timedelta(seconds=settings.outbox.lease_seconds)
    while len(down) < len(router.transports):
        with unit_of_work(engine) as session:
            rows = outbox.claim_due(session, utcnow(), settings.outbox.batch_size, lease, tried)
        tried.update(row.id for row in rows if row.id is not None)
        if not rows:
            return report
        started = time.monotonic()
        held: dict[str, list[OutboundMessage]] = {}  # rows of accounts already down
        for index, row in enumerate(rows):
            if should_stop():
                _release(engine, settings, rows[index:], delay=0.0)
                break
            if time.monotonic() - started > lease.total_seconds() / 2:
                # Half the lease gone: give the rest back before it expires under us, and take
                # them again in this same pass (they were not tried).
                _release(engine, settings, rows[index:], delay=0.0)
                tried.difference_update(r.id for r in rows[index:] if r.id is not None)
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
                _settle_failure(engine, settings, row, exc, report)
                continue
            with unit_of_work(engine) as session:
                outbox.mark_sent(session, row)
            report.sent += 1
            log.info("outbound sent", **_about(row))
        for account, waiting in held.items():
            _release(engine, settings, waiting, settings.outbox.retry_base_seconds, down[account])
        if should_stop():
            break
    return report


def _settle_failure(
    engine: Engine,
    settings: Settings,
    row: OutboundMessage,
    exc: MailbotError,
    report: DeliveryReport,
) -> None:
    with unit_of_work(engine) as session:
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
    engine: Engine, settings: Settings, rows: list[OutboundMessage], delay: float, error: str = ""
) -> None:
    if not rows:
        return
    when = utcnow() + timedelta(seconds=delay)
    with unit_of_work(engine) as session:
        for row in rows:
            assert row.id is not None
            outbox.release(session, row.id, when, settings.outbox, error)
