"""The long-running process: one loop per mailbox (a thread each, since IMAP is blocking) and
the outbox sender loop (asyncio, in the main thread). SIGTERM/SIGINT set a stop flag: the
message in hand is finished, nothing new is started. Outages back off exponentially and never
kill a loop. `run_once` is the same work done once, for cron, tests and the demo.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from dataclasses import dataclass, field

from mailbot import conversations, reminders
from mailbot.config import MailboxSettings
from mailbot.errors import TransientError
from mailbot.ingest.sources import Source, make_source
from mailbot.log import get_logger
from mailbot.models import utcnow
from mailbot.pipeline import DrainReport, Services, drain
from mailbot.replies.sender import DeliveryReport, deliver_pending, make_transport

log = get_logger(__name__)
OUTBOX_POLL_SECONDS = 5.0


class Backoff:
    def __init__(self, first: float = 1.0, most: float = 300.0) -> None:
        self.first, self.most, self.current = first, most, first

    def next(self) -> float:
        value = self.current
        self.current = min(self.current * 2, self.most)
        return value

    def reset(self) -> None:
        self.current = self.first


@dataclass
class OnceReport:
    mailboxes: dict[str, DrainReport] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def _source(services: Services, mailbox: MailboxSettings) -> Source:
    return make_source(mailbox, services.store, services.settings.limits.max_message_bytes)


def run_once(services: Services) -> OnceReport:
    """Every mailbox until it has no new mail, then the outbox until nothing is due."""
    report = OnceReport()
    for mailbox in services.settings.mailboxes:
        source = _source(services, mailbox)
        try:
            source.connect()
            report.mailboxes[mailbox.name] = drain(services, source)
        except TransientError as exc:
            report.unavailable[mailbox.name] = str(exc)
            log.warning("mailbox unavailable", mailbox=mailbox.name, error=str(exc))
        finally:
            source.close()
    try:
        reminders.send_digests(services, utcnow())
    except TransientError as exc:
        log.warning("digests not sent", error=str(exc))
    report.delivery = asyncio.run(_deliver_all(services))
    return report


def deliver_now(services: Services) -> DeliveryReport:
    """One delivery pass, for commands that queue mail (the daemon would send it anyway)."""
    return asyncio.run(_deliver_all(services))


async def _deliver_all(services: Services) -> DeliveryReport:
    transport = make_transport(services.settings)
    try:
        report = await deliver_pending(services.engine, services.settings, transport)
        if conversations.report_failures(services):
            second = await deliver_pending(services.engine, services.settings, transport)
            report.sent += second.sent
        return report
    finally:
        await transport.close()


def _mailbox_loop(
    services: Services, mailbox: MailboxSettings, stop: threading.Event, wake: threading.Event
) -> None:
    source = _source(services, mailbox)
    backoff = Backoff()
    connected = False
    while not stop.is_set():
        try:
            if not connected:
                where = source.connect()
                connected = True
                log.info("mailbox connected", mailbox=mailbox.name, source=where)
            report = drain(services, source, stop.is_set)
            if report.total:
                wake.set()
                log.info("mailbox drained", mailbox=mailbox.name, **report.counts)
            backoff.reset()
            source.wait(mailbox.poll_seconds, stop)
        except TransientError as exc:
            connected = False
            source.close()
            delay = backoff.next()
            log.warning("mailbox unavailable", mailbox=mailbox.name, error=str(exc), retry_in=delay)
            stop.wait(delay)
        except Exception:  # a bug must not silence a mailbox for good
            connected = False
            source.close()
            delay = backoff.next()
            log.exception("mailbox loop error", mailbox=mailbox.name, retry_in=delay)
            stop.wait(delay)
    source.close()


async def _outbox_loop(services: Services, stop: threading.Event, wake: threading.Event) -> None:
    transport = make_transport(services.settings)
    backoff = Backoff(services.settings.outbox.retry_base_seconds or 1.0, 300.0)
    digested: set[tuple[str, str]] = set()  # (office, day) already settled by this process
    try:
        while not stop.is_set():
            try:
                reminders.send_digests(services, utcnow(), digested)  # once a day per office
                report = await deliver_pending(services.engine, services.settings, transport)
                if report.failed or report.blocked:
                    conversations.report_failures(services)
            except TransientError as exc:
                log.warning("outbox unavailable", error=str(exc))
                report = DeliveryReport(errors=[str(exc)])
            delay = backoff.next() if report.blocked else OUTBOX_POLL_SECONDS
            if not report.blocked:
                backoff.reset()
            woken = await asyncio.to_thread(wake.wait, delay)
            wake.clear()
            if not woken:
                await transport.close()  # idle: do not hold the relay's connection
    finally:
        await transport.close()


def run_forever(services: Services) -> None:
    stop = threading.Event()
    wake = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()
        wake.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    threads = [
        threading.Thread(
            target=_mailbox_loop,
            args=(services, m, stop, wake),
            name=f"mailbox-{m.name}",
            daemon=True,
        )
        for m in services.settings.mailboxes
    ]
    for thread in threads:
        thread.start()
    log.info("mailbot running", mailboxes=[m.name for m in services.settings.mailboxes])
    asyncio.run(_outbox_loop(services, stop, wake))
    for thread in threads:
        thread.join(timeout=30)
    log.info("mailbot stopped")
