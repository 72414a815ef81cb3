"""The long-running process: one loop per mailbox (a thread each, since IMAP is blocking) and
the outbox sender loop (asyncio, in the main thread). SIGTERM/SIGINT set a stop flag: the
message in hand is finished, nothing new is started. Outages back off exponentially and never
kill a loop. `run_once` is the same work done once, for cron, tests and the demo.

Any number of instances may share one database: a mailbox is watched only while this instance
holds its lease (mailbot/leases.py), every message's transaction is fenced by it, and the
outbox is drained by all of them (rows claimed with SKIP LOCKED).
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
from mailbot.leases import RETRY_SECONDS, Keeper, LeaseLostError, Leases
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


def _leases(services: Services) -> Keeper:
    return Keeper(
        Leases(services.engine, services.settings.database.lease_seconds),
        len(services.settings.mailboxes),
    )


def run_once(services: Services) -> OnceReport:
    """Every mailbox until it has no new mail, then the outbox until nothing is due. A mailbox
    another running instance watches is left to it (reported as unavailable)."""
    report = OnceReport()
    with _leases(services) as keeper:
        for mailbox in services.settings.mailboxes:
            _drain_once(services, keeper, mailbox, report)
    try:
        reminders.send_digests(services, utcnow())
    except TransientError as exc:
        log.warning("digests not sent", error=str(exc))
    report.delivery = asyncio.run(_deliver_all(services))
    return report


def _drain_once(
    services: Services, keeper: Keeper, mailbox: MailboxSettings, report: OnceReport
) -> None:
    source = _source(services, mailbox)
    halt = threading.Event()
    try:
        if not keeper.hold(mailbox.name, halt):
            raise LeaseLostError(f"mailbox {mailbox.name}: watched by another running instance")
        source.connect()
        report.mailboxes[mailbox.name] = drain(
            services, source, halt.is_set, keeper.fence(mailbox.name)
        )
    except TransientError as exc:
        report.unavailable[mailbox.name] = str(exc)
        log.warning("mailbox unavailable", mailbox=mailbox.name, error=str(exc))
    finally:
        source.close()
        keeper.drop(mailbox.name)


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
    services: Services,
    mailbox: MailboxSettings,
    *,
    keeper: Keeper,
    stop: threading.Event,
    halt: threading.Event,
    wake: threading.Event,
) -> None:
    """`halt` is set on stop and when the lease is lost; `stop` alone ends the loop."""
    source = _source(services, mailbox)
    backoff = Backoff()
    connected = False
    fence = keeper.fence(mailbox.name)
    while not stop.is_set():
        try:
            if not keeper.holds(mailbox.name):
                if connected:  # lost it: the new holder watches, we wait our turn
                    source.close()
                    connected = False
                halt.clear()
                if stop.is_set():  # request_stop sets stop before the halts
                    break
                if not keeper.hold(mailbox.name, halt):
                    stop.wait(RETRY_SECONDS)
                    continue
            if not connected:
                where = source.connect()
                connected = True
                log.info("mailbox connected", mailbox=mailbox.name, source=where)
            report = drain(services, source, halt.is_set, fence)
            if report.total:
                wake.set()
                log.info("mailbox drained", mailbox=mailbox.name, **report.counts)
            backoff.reset()
            source.wait(mailbox.poll_seconds, halt)
        except LeaseLostError as exc:
            keeper.lost(mailbox.name)
            log.warning("mailbox lease lost", mailbox=mailbox.name, error=str(exc))
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
    keeper.drop(mailbox.name)  # a clean stop hands the mailbox over at once


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
    halts = {m.name: threading.Event() for m in services.settings.mailboxes}

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()
        wake.set()
        for halt in halts.values():
            halt.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with _leases(services) as keeper:
        threads = [
            threading.Thread(
                target=_mailbox_loop,
                args=(services, m),
                kwargs={"keeper": keeper, "stop": stop, "halt": halts[m.name], "wake": wake},
                name=f"mailbox-{m.name}",
                daemon=True,
            )
            for m in services.settings.mailboxes
        ]
        for thread in threads:
            thread.start()
        log.info(
            "mailbot running",
            mailboxes=[m.name for m in services.settings.mailboxes],
            instance=keeper.leases.holder,
        )
        asyncio.run(_outbox_loop(services, stop, wake))
        for thread in threads:
            thread.join(timeout=30)
    log.info("mailbot stopped")
