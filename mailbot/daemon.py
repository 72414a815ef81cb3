"""The long-running process: one loop per mailbox (a thread each, since IMAP is blocking) and
the outbox sender loop (asyncio, in the main thread). SIGTERM/SIGINT set a stop flag: the
message in hand is finished, nothing new is started. SIGHUP reads the configuration again:
when it is valid, the loops finish the message in hand and start over with it; when it is not,
the error is logged (naming the key) and the running configuration stays. Outages back off
exponentially and never kill a loop. `run_once` is the same work done once, for cron, tests
and the demo.

Under systemd (`Type=notify`) the daemon says READY once a mailbox is connected (or all of them
are watched by other instances), feeds the watchdog while its loops answer, and reports its
state in STATUS; with `[metrics] listen` it serves Prometheus metrics and /healthz.

Any number of instances may share one database: a mailbox is watched only while this instance
holds its lease (mailbot/leases.py), every message's transaction is fenced by it, and the
outbox is drained by all of them (rows claimed with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import faulthandler
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailbot import cases, reminders
from mailbot.config import MailboxSettings
from mailbot.errors import MailbotError, TransientError
from mailbot.ingest.sources import Source, make_source
from mailbot.leases import RETRY_SECONDS, Keeper, LeaseLostError, Leases
from mailbot.log import get_logger
from mailbot.metrics import Endpoint, Health, Metrics, outbox_figures
from mailbot.models import utcnow
from mailbot.pipeline import DrainReport, Services, drain
from mailbot.replies.sender import DeliveryReport, deliver_pending, make_transport
from mailbot.sdnotify import Notifier, WatchdogFeeder

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
        if cases.report_failures(services):
            second = await deliver_pending(services.engine, services.settings, transport)
            report.sent += second.sent
        return report
    finally:
        await transport.close()


class _Control:
    """What the signal handlers ask for, and the events of the loops currently running."""

    def __init__(self) -> None:
        self.stopping = False
        self.reload_requested = False
        self.stop = threading.Event()  # ends the current set of loops (stop or reload)
        self.wake = threading.Event()  # the outbox loop: new mail queued, or a signal
        self.halts: dict[str, threading.Event] = {}

    def begin(self, services: Services) -> None:
        self.stop = threading.Event()
        self.halts = {m.name: threading.Event() for m in services.settings.mailboxes}

    def end_loops(self) -> None:
        self.stop.set()
        self.wake.set()
        for halt in self.halts.values():
            halt.set()

    def on_stop(self, signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        self.stopping = True
        self.end_loops()

    def on_reload(self, _signum: int, _frame: object) -> None:
        self.reload_requested = True
        self.wake.set()


@dataclass
class _Runtime:
    """Lives across reloads: the systemd notifier, health shared with the watchdog and the
    metrics endpoint, and the metrics (None without [metrics] listen)."""

    notifier: Notifier
    health: Health
    services: Services  # the current ones (a reload replaces them)
    metrics: Metrics | None = None


class _MailboxLoop:
    """One mailbox, in a thread of its own. `halt` is set on stop and when the lease is lost;
    `stop` alone ends the loop."""

    def __init__(
        self,
        services: Services,
        mailbox: MailboxSettings,
        keeper: Keeper,
        control: _Control,
        runtime: _Runtime,
    ) -> None:
        self.services, self.mailbox, self.keeper = services, mailbox, keeper
        self.stop, self.halt, self.wake = control.stop, control.halts[mailbox.name], control.wake
        self.health, self.notifier = runtime.health, runtime.notifier
        self.observe = runtime.metrics.observe if runtime.metrics else None
        self.source = _source(services, mailbox)
        self.connected = False

    def run(self) -> None:
        name = self.mailbox.name
        backoff = Backoff()
        fence = self.keeper.fence(name)
        while not self.stop.is_set():
            try:
                if not self.keeper.holds(name) and not self._take_lease():
                    continue
                if not self.connected:
                    where = self.source.connect()
                    self.connected = True
                    self._state("connected")
                    log.info("mailbox connected", mailbox=name, source=where)
                report = drain(self.services, self.source, self.halt.is_set, fence, self.observe)
                if report.total:
                    self.wake.set()
                    log.info("mailbox drained", mailbox=name, **report.counts)
                backoff.reset()
                self.source.wait(self.mailbox.poll_seconds, self.halt)
            except LeaseLostError as exc:
                self.keeper.lost(name)
                log.warning("mailbox lease lost", mailbox=name, error=str(exc))
            except TransientError as exc:
                self._disconnect()
                delay = backoff.next()
                log.warning("mailbox unavailable", mailbox=name, error=str(exc), retry_in=delay)
                self.stop.wait(delay)
            except Exception as exc:
                self._disconnect()
                delay = backoff.next()
                if isinstance(exc, MailbotError):  # a setting or secret to fix: no traceback
                    log.error("mailbox not usable", mailbox=name, error=str(exc), retry_in=delay)
                else:  # a bug must not silence a mailbox for good
                    log.exception("mailbox loop error", mailbox=name, retry_in=delay)
                self.stop.wait(delay)
        self.source.close()
        self.keeper.drop(name)  # a clean stop hands the mailbox over at once

    def _take_lease(self) -> bool:
        """False: not ours now (stopping, or another instance watches it)."""
        if self.connected:  # lost it: the new holder watches, we wait our turn
            self.source.close()
            self.connected = False
        self.halt.clear()
        if self.stop.is_set():  # request_stop sets stop before the halts
            return False
        if self.keeper.hold(self.mailbox.name, self.halt):
            return True
        self._state("standby")
        self.stop.wait(RETRY_SECONDS)
        return False

    def _disconnect(self) -> None:
        self.connected = False
        self.source.close()
        self._state("disconnected")

    def _state(self, state: str) -> None:
        self.health.set_state(self.mailbox.name, state)
        if state in ("connected", "standby"):
            self.notifier.ready(_status(self.health))  # once: the first mailbox in place
        self.notifier.status(_status(self.health))


def _status(health: Health) -> str:
    states = health.states()
    parts = [
        f"{sum(s == state for s in states.values())} {state}"
        for state in ("connected", "standby", "disconnected", "starting")
        if state in states.values()
    ]
    return f"mailboxes: {', '.join(parts) or 'none'}"


async def _heartbeat(health: Health) -> None:
    """Proves to the watchdog that the event loop is not stuck."""
    while True:
        health.loop_beat = time.monotonic()
        await asyncio.sleep(1.0)


async def _outbox_loop(
    services: Services,
    control: _Control,
    runtime: _Runtime,
    rebuild: Callable[[], Services] | None,
) -> Services | None:
    """Sends until told to stop (returns None) or until a reload produced valid new
    services (returns them)."""
    stop, wake = control.stop, control.wake
    transport = make_transport(services.settings)
    backoff = Backoff(services.settings.outbox.retry_base_seconds or 1.0, 300.0)
    digested: set[tuple[str, str]] = set()  # (office, day) already settled by this process
    beat = asyncio.create_task(_heartbeat(runtime.health))
    try:
        while not stop.is_set():
            if control.reload_requested:
                fresh = await _reload(control, runtime, rebuild)
                if fresh is not None:
                    return fresh
            try:
                reminders.send_digests(services, utcnow(), digested)  # once a day per office
                report = await deliver_pending(services.engine, services.settings, transport)
                if runtime.metrics is not None:
                    runtime.metrics.delivery(report.sent, report.retried, report.failed)
                if report.failed or report.blocked:
                    cases.report_failures(services)
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
        beat.cancel()
        await transport.close()
    return None


async def _reload(
    control: _Control, runtime: _Runtime, rebuild: Callable[[], Services] | None
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
        runtime.notifier.ready(_status(runtime.health))
        return None
    log.info("configuration reloaded", mailboxes=[m.name for m in fresh.settings.mailboxes])
    control.end_loops()
    return fresh


def run_forever(services: Services, rebuild: Callable[[], Services] | None = None) -> None:
    """Run until SIGTERM/SIGINT. `rebuild()` reads the configuration again on SIGHUP (raising
    MailbotError when it is wrong)."""
    control = _Control()
    runtime = _Runtime(Notifier(), Health(), services)
    signal.signal(signal.SIGTERM, control.on_stop)
    signal.signal(signal.SIGINT, control.on_stop)
    signal.signal(signal.SIGHUP, control.on_reload)
    # `kill -USR1`: every thread's stack to stderr (the journal), for a daemon that seems stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    endpoint = _serve_metrics(services, runtime)
    feeder = WatchdogFeeder(runtime.notifier, lambda: runtime.health.loops_alive(_stale(runtime)))
    feeder.start()
    try:
        while True:
            fresh = _run_loops(services, control, runtime, rebuild)
            if fresh is None or control.stopping:
                break
            if fresh.engine is not services.engine:
                services.engine.dispose()
            services = runtime.services = fresh
            runtime.health.reloading = False
    finally:
        runtime.notifier.stopping()
        feeder.stop()
        if endpoint is not None:
            endpoint.stop()
        runtime.notifier.close()
    log.info("mailbot stopped")


def _stale(runtime: _Runtime) -> float:
    """The event loop ticks every second; allow for a slow database call in it."""
    interval = runtime.notifier.watchdog_seconds or 60.0
    return max(interval / 2, 5.0)


def _run_loops(
    services: Services,
    control: _Control,
    runtime: _Runtime,
    rebuild: Callable[[], Services] | None,
) -> Services | None:
    control.begin(services)
    health = runtime.health
    with health.lock:
        health.mailboxes = {m.name: "starting" for m in services.settings.mailboxes}
    with _leases(services) as keeper:
        threads = [
            threading.Thread(
                target=_MailboxLoop(services, m, keeper, control, runtime).run,
                name=f"mailbox-{m.name}",
                daemon=True,
            )
            for m in services.settings.mailboxes
        ]
        health.threads = threads
        health.loop_beat = time.monotonic()
        for thread in threads:
            thread.start()
        log.info(
            "mailbot running",
            mailboxes=[m.name for m in services.settings.mailboxes],
            instance=keeper.leases.holder,
        )
        fresh = asyncio.run(_outbox_loop(services, control, runtime, rebuild))
        health.reloading = fresh is not None
        for thread in threads:
            thread.join(timeout=30)
    return fresh


def _serve_metrics(services: Services, runtime: _Runtime) -> Endpoint | None:
    """Started once; a changed `[metrics] listen` takes a restart, not a reload."""
    listen = services.settings.metrics
    if not listen.enabled:
        return None

    def engine() -> Any:
        return runtime.services.engine

    runtime.metrics = Metrics(engine, runtime.health)

    def healthz() -> dict[str, Any]:
        return _health_report(runtime.services, runtime)

    endpoint = Endpoint(runtime.metrics, healthz)
    host, port = endpoint.start(listen.host, listen.port)
    log.info("metrics listening", address=f"{host}:{port}")
    return endpoint


def _health_report(services: Services, runtime: _Runtime) -> dict[str, Any]:
    states = runtime.health.states()
    problems = []
    if not runtime.health.loops_alive(_stale(runtime)):
        problems.append("a daemon loop is not answering")
    problems += [
        f"mailbox {name} {state}"
        for name, state in states.items()
        if state not in {"connected", "standby"}
    ]
    report: dict[str, Any] = {"mailboxes": states}
    try:
        report.update(outbox_figures(services.engine))
        report["database"] = "ok"
    except Exception as exc:
        report["database"] = str(exc).splitlines()[0]
        problems.append("database unavailable")
    report["status"] = "ok" if not problems else "unhealthy"
    report["problems"] = problems
    return report
