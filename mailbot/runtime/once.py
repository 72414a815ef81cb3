"""`run_once`: every mailbox drained until no new mail, then the outbox flushed, once; for
cron, tests and the demo; through a backlog the sending starts beside the drain and goes on
beside the last pass (`overlap.py`).
`deliver_now` sends what is due (the CLI's commands call it).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from mailbot.cases import notices, protocol_alerts, reminders
from mailbot.config import MailboxSettings
from mailbot.errors import TransientError
from mailbot.ingest.sources import Source, make_source
from mailbot.log import get_logger
from mailbot.models import utcnow
from mailbot.replies.delivery import DeliveryReport, deliver_pending
from mailbot.replies.sender import make_transport
from mailbot.runtime.drain import DrainReport, drain
from mailbot.runtime.leases import Keeper, LeaseLostError, Leases
from mailbot.runtime.overlap import Overlap, merge
from mailbot.runtime.readahead import ReadAhead
from mailbot.services import Services

log = get_logger(__name__)


@dataclass
class OnceReport:
    mailboxes: dict[str, DrainReport] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def source_for(services: Services, mailbox: MailboxSettings) -> Source:
    return make_source(mailbox, services.store, services.settings.limits.max_message_bytes)


def leases_for(services: Services) -> Keeper:
    return Keeper(
        Leases(services.engine, services.settings.database.lease_seconds),
        len(services.settings.mailboxes),
    )


def run_once(services: Services) -> OnceReport:
    """Every mailbox until it has no new mail, then the outbox until nothing is due. A mailbox
    another running instance watches is left to it (reported as unavailable)."""
    report = OnceReport()
    overlap = Overlap(services.settings)  # through a backlog, sending starts beside the drain
    ahead = ReadAhead(services.store.root, services.settings.spam)  # and reading the next ones
    completed = False
    try:
        try:
            with leases_for(services) as keeper:
                for mailbox in services.settings.mailboxes:
                    _drain_once(services, keeper, mailbox, report, overlap, ahead=ahead)
        finally:
            ahead.close()
        # A sender process started beside the drain goes on sending what the drain left, beside
        # the last pass below: two senders through the tail, each row claimed by one of them.
        # Not while the register is given its wait, though: a confirmation held for its number
        # whose hold ran out meanwhile would leave without it; there the process stops first
        # (after the mail in hand, the rest given back) and the last pass sends alone.
        if services.settings.protocol.wait_seconds:
            overlap.finish(at_once=True)
        _after_drain(services, report)
        completed = True
    finally:
        last = report.delivery  # run_once's own last pass (empty if it never ran)
        report.delivery = merge(overlap.finish(at_once=not completed), last)
    if overlap.started and not last.blocked:
        # What came due after the last pass claimed its last row (the register's late numbers,
        # holds run out, notices of the process's last failures): sent before the run ends.
        merge(report.delivery, asyncio.run(_deliver_all(services)))
    return report


def _after_drain(services: Services, report: OnceReport) -> None:
    try:
        reminders.send_digests(services, utcnow())
    except TransientError as exc:
        log.warning("digests not sent", error=str(exc))
    # The register's numbers owed (a failure is recorded on the case and retried); while a
    # confirmation may wait for one (`wait_seconds`), in a thread: the mail leaves when the
    # pass is done or the wait is over, whichever comes first, and a hanging program delays
    # nothing beyond it.
    raised: list[BaseException] = []
    registering = threading.Thread(target=_register, args=(services, raised), name="protocol")
    registering.start()
    registering.join(services.settings.protocol.wait_seconds or None)
    report.delivery = asyncio.run(_deliver_all(services))
    registering.join()
    if raised:  # a bug, as loud as before
        raise raised[0]


def _register(services: Services, raised: list[BaseException]) -> None:
    try:
        protocol_alerts.run_pass(services)  # and the office told of one failing too long
    except TransientError as exc:
        log.warning("protocol registrations not run", error=str(exc))
    except Exception as exc:  # handed to the main thread
        raised.append(exc)


def _drain_once(
    services: Services,
    keeper: Keeper,
    mailbox: MailboxSettings,
    report: OnceReport,
    overlap: Overlap,
    *,
    ahead: ReadAhead,
) -> None:
    source = source_for(services, mailbox)
    halt = threading.Event()
    try:
        if not keeper.hold(mailbox.name, halt):
            raise LeaseLostError(f"mailbox {mailbox.name}: watched by another running instance")
        source.connect()
        report.mailboxes[mailbox.name] = drain(
            services,
            source,
            halt.is_set,
            keeper.fence(mailbox.name),
            overlap.observe,
            ahead=ahead,
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
        if notices.report_failures(services):
            second = await deliver_pending(services.engine, services.settings, transport)
            report.sent += second.sent
        return report
    finally:
        await transport.close()
