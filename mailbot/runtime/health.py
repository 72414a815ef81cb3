"""What the running daemon knows of itself: the state of the mailboxes for STATUS and
/healthz, how stale the loops are, and the metrics endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailbot.log import get_logger
from mailbot.runtime.metrics import Endpoint, Health, Metrics, outbox_figures
from mailbot.runtime.sdnotify import Notifier
from mailbot.services import Services

log = get_logger(__name__)


@dataclass
class Runtime:
    """Lives across reloads: the systemd notifier, health shared with the watchdog and the
    metrics endpoint, and the metrics (None without [metrics] listen)."""

    notifier: Notifier
    health: Health
    services: Services  # the current ones (a reload replaces them)
    metrics: Metrics | None = None


def status_line(health: Health) -> str:
    states = health.states()
    parts = [
        f"{sum(s == state for s in states.values())} {state}"
        for state in ("connected", "standby", "disconnected", "starting")
        if state in states.values()
    ]
    return f"mailboxes: {', '.join(parts) or 'none'}"


def stale_seconds(runtime: Runtime) -> float:
    """The event loop ticks every second; allow for a slow database call in it."""
    interval = runtime.notifier.watchdog_seconds or 60.0
    return max(interval / 2, 5.0)


def serve_metrics(services: Services, runtime: Runtime) -> Endpoint | None:
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


def _health_report(services: Services, runtime: Runtime) -> dict[str, Any]:
    states = runtime.health.states()
    problems = []
    if not runtime.health.loops_alive(stale_seconds(runtime)):
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
