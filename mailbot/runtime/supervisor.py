"""The long-running process: one loop per mailbox (a thread each, since IMAP is blocking) and
the outbox loop (asyncio, in the main thread), whose sending runs in a child process
(runtime/sender_process.py). SIGTERM/SIGINT (taken by a thread of
their own, runtime/control.py) set a stop flag: the message in hand is finished, nothing new is
started. SIGHUP reads the configuration again: when it is valid, the loops finish the message
in hand and start over with it; when it is not, the error is logged (naming the key) and the
running configuration stays. Outages back off exponentially and never kill a loop. `run_once`
is the same work done once, for cron, tests and the demo.

Under systemd (`Type=notify`) the daemon says READY once a mailbox is connected (or all of them
are watched by other instances), feeds the watchdog while its loops answer, and reports its
state in STATUS; with `[metrics] listen` it serves Prometheus metrics and /healthz, and with
`[web] listen` the online complaint form and questionnaire (mailbot/web/, in a process of its
own, runtime/web_process.py, so that visitors never slow mail intake; a reload hands it the new
settings, and restarts it when the `[web]` section changed; switching the form on or off takes
a restart). With `[backoffice] listen` the staff's back office is served the same way, from a
process of its own (a reload restarts it when `[backoffice]` changed); the sign-in links it
queues leave with the outbox loop's next pass.

Any number of instances may share one database: a mailbox is watched only while this instance
holds its lease (runtime/leases.py), every message's transaction is fenced by it, and the
outbox is drained by all of them (rows claimed with SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import faulthandler
import signal
import threading
import time
from collections.abc import Callable

from mailbot.log import get_logger
from mailbot.runtime.control import Control, Signals
from mailbot.runtime.health import Runtime, serve_metrics, stale_seconds
from mailbot.runtime.mailbox_loop import MailboxLoop
from mailbot.runtime.metrics import Health
from mailbot.runtime.once import leases_for
from mailbot.runtime.outbox_loop import run_outbox_loop
from mailbot.runtime.sdnotify import Notifier, WatchdogFeeder
from mailbot.runtime.sender_process import SenderProcess
from mailbot.runtime.web_process import WebProcess
from mailbot.services import Services

log = get_logger(__name__)


def run_forever(services: Services, rebuild: Callable[[], Services] | None = None) -> None:
    """Run until SIGTERM/SIGINT. `rebuild()` reads the configuration again on SIGHUP (raising
    MailbotError when it is wrong)."""
    control = Control()
    runtime = Runtime(Notifier(), Health(), services)
    # `kill -USR1`: every thread's stack to stderr (the journal), for a daemon that seems stuck.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    with Signals(control):
        _supervise(services, control, runtime, rebuild)
    log.info("mailbot stopped")


def _supervise(
    services: Services,
    control: Control,
    runtime: Runtime,
    rebuild: Callable[[], Services] | None,
) -> None:
    sender = SenderProcess(threaded=None)  # a thread or a process, as [outbox] sender says
    endpoint = serve_metrics(services, runtime)
    web = _serve_web(runtime)
    try:
        office = _serve_web(runtime, "backoffice")
    except BaseException:  # its listen cannot be bound: the desk's process goes too
        if web is not None:
            web.stop()
        raise
    feeder = WatchdogFeeder(
        runtime.notifier, lambda: runtime.health.loops_alive(stale_seconds(runtime))
    )
    feeder.start()
    try:
        while True:
            fresh = _run_loops(services, control, runtime, rebuild, sender)
            if fresh is None or control.stopping:
                break
            if fresh.engine is not services.engine:
                services.engine.dispose()
            services = runtime.services = fresh
            for served in (web, office):
                if served is not None:
                    served.update(fresh)
            runtime.health.reloading = False
    finally:
        runtime.notifier.stopping()
        sender.stop()
        feeder.stop()
        if endpoint is not None:
            endpoint.stop()
        for served in (web, office):
            if served is not None:
                served.stop()
        runtime.notifier.close()


def _serve_web(runtime: Runtime, part: str = "web") -> WebProcess | None:
    settings = runtime.services.settings
    if not (settings.backoffice if part == "backoffice" else settings.web).enabled:
        return None
    web = WebProcess(part)
    web.start(runtime.services)
    return web


def _run_loops(
    services: Services,
    control: Control,
    runtime: Runtime,
    rebuild: Callable[[], Services] | None,
    sender: SenderProcess,
) -> Services | None:
    control.begin(services)
    health = runtime.health
    with health.lock:
        health.mailboxes = {m.name: "starting" for m in services.settings.mailboxes}
    with leases_for(services) as keeper:
        threads = [
            threading.Thread(
                target=MailboxLoop(services, m, keeper, control, runtime).run,
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
        fresh = asyncio.run(run_outbox_loop(services, control, runtime, rebuild, sender))
        health.reloading = fresh is not None
        for thread in threads:
            thread.join(timeout=30)
    return fresh
