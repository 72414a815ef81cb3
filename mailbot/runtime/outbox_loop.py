"""The outbox loop (asyncio, in the main thread): has the sender process deliver what is due
(runtime/sender_process.py: the sending itself runs on a core of its own), reports failures,
sends the daily digests, runs the protocol register's adapter (in a thread of its own, beside
the sending: a program that hangs delays no mail, and a confirmation held for its number leaves
when its hold ends), beats the heart the watchdog listens to.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from mailbot.cases import notices, protocol_alerts, registration, reminders
from mailbot.errors import MailbotError, TransientError
from mailbot.log import get_logger
from mailbot.models import utcnow
from mailbot.replies.delivery import DeliveryReport
from mailbot.runtime.control import Control
from mailbot.runtime.health import Runtime, status_line
from mailbot.runtime.mailbox_loop import Backoff
from mailbot.runtime.metrics import Health
from mailbot.runtime.sender_process import SenderProcess
from mailbot.services import Services

log = get_logger(__name__)


OUTBOX_POLL_SECONDS = 5.0


async def _heartbeat(health: Health) -> None:
    """Proves to the watchdog that the event loop is not stuck."""
    while True:
        health.loop_beat = time.monotonic()
        await asyncio.sleep(1.0)


async def run_outbox_loop(
    services: Services,
    control: Control,
    runtime: Runtime,
    rebuild: Callable[[], Services] | None,
    sender: SenderProcess,
) -> Services | None:
    """Sends until told to stop (returns None) or until a reload produced valid new
    services (returns them)."""
    stop, wake = control.stop, control.wake
    backoff = Backoff(services.settings.outbox.retry_base_seconds or 1.0, 300.0)
    digested: set[tuple[str, str]] = set()  # (office, day) already settled by this process
    beat = asyncio.create_task(_heartbeat(runtime.health))
    registering: asyncio.Task[registration.PassReport] | None = None
    try:
        while not stop.is_set():
            if control.reload_requested:
                fresh = await _reload(control, runtime, rebuild)
                if fresh is not None:
                    return fresh
            try:
                reminders.send_digests(services, utcnow(), digested)  # once a day per office
                if registering is None or registering.done():  # [protocol] adapter
                    registering = _register(services, wake, stop)
                sender.ensure(services.settings)  # here: the child dies with this thread
                report = await asyncio.to_thread(sender.deliver, stop.is_set)
                if runtime.metrics is not None:
                    runtime.metrics.delivery(report.sent, report.retried, report.failed)
                if report.failed or report.blocked:
                    notices.report_failures(services)
            except TransientError as exc:
                log.warning("outbox unavailable", error=str(exc))
                report = DeliveryReport(errors=[str(exc)])
            delay = backoff.next() if report.blocked else OUTBOX_POLL_SECONDS
            if not report.blocked:
                backoff.reset()
            woken = await asyncio.to_thread(wake.wait, delay)
            wake.clear()
            if not woken:
                sender.idle()  # do not hold the relay's connection
    finally:
        beat.cancel()
    return None


def _register(
    services: Services, wake: threading.Event, stop: threading.Event
) -> asyncio.Task[registration.PassReport]:
    """One registration pass in a thread; when it settled something (a held confirmation is
    now due), the loop is woken to send it. On `stop` the pass ends its running program and
    leaves the row due for the next start (cases/registration.py): the stop waits for no
    register."""
    task = asyncio.create_task(asyncio.to_thread(_registration_pass, services, stop))

    def settled(done: asyncio.Task[registration.PassReport]) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            log.warning("protocol registrations not run", error=str(error))
        elif done.result().registered or done.result().failed:
            wake.set()

    task.add_done_callback(settled)
    return task


def _registration_pass(services: Services, stop: threading.Event) -> registration.PassReport:
    """protocol_alerts.run_pass, ended when the daemon stops."""
    report = registration.run_due(services, stopping=stop.is_set)
    if not stop.is_set():
        protocol_alerts.report_stuck(services)
    return report


async def _reload(
    control: Control, runtime: Runtime, rebuild: Callable[[], Services] | None
) -> Services | None:
    control.reload_requested = False
    if rebuild is None:
        log.warning("reload requested, but this process cannot reload: restart it")
        return None
    runtime.notifier.reloading()
    try:
        fresh = await asyncio.to_thread(rebuild)
    except MailbotError as exc:
        log.error("configuration not reloaded, the running one stays", error=str(exc))
        runtime.notifier.ready(status_line(runtime.health))
        return None
    log.info("configuration reloaded", mailboxes=[m.name for m in fresh.settings.mailboxes])
    control.end_loops()
    return fresh
