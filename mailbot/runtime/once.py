"""`run_once`: every mailbox drained until no new mail, then the outbox flushed, once; for
cron, tests and the demo. While the mailboxes drain, a thread already sends what they queue
(the daemon's sender process does the same): the SMTP round trips and the marks' commits wait
on the network and the disk, not on the interpreter, so they overlap the filing instead of
following it. `deliver_now` sends what is due (the CLI's commands call it).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from types import TracebackType

from mailbot.cases import notices, reminders
from mailbot.config import MailboxSettings
from mailbot.errors import TransientError
from mailbot.ingest.sources import Source, make_source
from mailbot.log import get_logger
from mailbot.models import utcnow
from mailbot.replies.delivery import DeliveryReport, deliver_pending
from mailbot.replies.sender import make_transport
from mailbot.runtime.drain import DrainReport, drain
from mailbot.runtime.leases import Keeper, LeaseLostError, Leases
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
    with leases_for(services) as keeper, _Alongside(services) as alongside:
        for mailbox in services.settings.mailboxes:
            _drain_once(services, keeper, mailbox, report)
    try:
        reminders.send_digests(services, utcnow())
    except TransientError as exc:
        log.warning("digests not sent", error=str(exc))
    report.delivery = asyncio.run(_deliver_all(services))
    report.delivery.sent += alongside.sent
    return report


class _Alongside:
    """Sends what is due in a thread of its own while the mailboxes drain; stops when they
    are drained (a mail in hand is finished, the claimed rest given back due at once), and the
    last pass after the drain sends what is left and reports failures."""

    _IDLE_SECONDS = 0.05  # nothing due yet: look again this soon, then less and less often
    _IDLE_MAX = 0.5

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="once-sender", daemon=True)

    def __enter__(self) -> _Alongside:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._loop())
        except Exception as exc:  # the last pass sends what this one could not
            log.warning("sending while draining stopped", error=str(exc))

    async def _loop(self) -> None:
        services = self.services
        transport = make_transport(services.settings)
        try:
            idle = self._IDLE_SECONDS
            while not self._stop.is_set():
                report = await deliver_pending(
                    services.engine, services.settings, transport, self._stop.is_set
                )
                self.sent += report.sent
                if report.blocked:
                    return  # a relay out of reach: the last pass tries again and reports it
                idle = self._IDLE_SECONDS if report.sent else min(idle * 2, self._IDLE_MAX)
                await asyncio.sleep(0 if report.sent else idle)
        finally:
            await transport.close()


def _drain_once(
    services: Services, keeper: Keeper, mailbox: MailboxSettings, report: OnceReport
) -> None:
    source = source_for(services, mailbox)
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
        if notices.report_failures(services):
            second = await deliver_pending(services.engine, services.settings, transport)
            report.sent += second.sent
        return report
    finally:
        await transport.close()
