"""Prometheus metrics and the `/healthz` endpoint of a running daemon (`[metrics] listen`).

What this process did (messages ingested by outcome, cases opened, processing time, mail sent)
is counted in memory; what the database holds (outbox pending and its oldest age, PEC
deliveries by state, quarantine, open and overdue cases) is read at each scrape, so several
instances sharing a database report the same figures for it. Served by the standard library's
WSGI server on a thread of its own; the only importer of prometheus_client.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import col

from mailbot.errors import ConfigError
from mailbot.log import get_logger
from mailbot.models import InboundMessage, OutboundMessage, PecReceipt, WorkOrder, utcnow
from mailbot.types import LedgerStatus, Outcome

log = get_logger(__name__)

MAILBOX_STATES = ("starting", "connected", "disconnected", "standby")
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Health:
    """Shared by the daemon's loops, the watchdog and `/healthz`."""

    mailboxes: dict[str, str] = field(default_factory=dict)  # name → one of MAILBOX_STATES
    loop_beat: float = field(default_factory=time.monotonic)  # the asyncio loop's last tick
    threads: list[threading.Thread] = field(default_factory=list)
    reloading: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_state(self, mailbox: str, state: str) -> None:
        with self.lock:
            self.mailboxes[mailbox] = state

    def states(self) -> dict[str, str]:
        with self.lock:
            return dict(self.mailboxes)

    def loops_alive(self, stale_after: float) -> bool:
        """Every mailbox thread runs and the outbox loop ticked recently (or a reload is
        swapping them)."""
        if self.reloading:
            return True
        fresh = time.monotonic() - self.loop_beat < stale_after
        return fresh and all(t.is_alive() for t in self.threads)


class Metrics:
    """`engine()`: the database of the moment (a reload may change it)."""

    def __init__(self, engine: Callable[[], Engine], health: Health) -> None:
        self.registry = CollectorRegistry()
        self.health = health
        self.ingested = Counter(
            "mailbot_messages_ingested",
            "Messages taken from a mailbox, by what became of them.",
            ["mailbox", "outcome"],
            registry=self.registry,
        )
        self.cases_opened = Counter(
            "mailbot_cases_opened",
            "Work orders (pratiche) opened from incoming mail.",
            ["mailbox"],
            registry=self.registry,
        )
        self.processing = Histogram(
            "mailbot_message_processing_seconds",
            "Time to file one message (parse, match, case, outbox rows, commit).",
            ["mailbox"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.delivered = Counter(
            "mailbot_outbound_messages",
            "Outbox sending attempts by result.",
            ["result"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(engine, health))

    def observe(self, mailbox: str, outcome: Outcome, seconds: float) -> None:
        result = "duplicate" if outcome.duplicate else str(outcome.status)
        self.ingested.labels(mailbox, result).inc()
        if outcome.status is LedgerStatus.FILED and not outcome.duplicate:
            self.cases_opened.labels(mailbox).inc()
        self.processing.labels(mailbox).observe(seconds)

    def delivery(self, sent: int, retried: int, failed: int) -> None:
        for result, count in (("sent", sent), ("deferred", retried), ("failed", failed)):
            if count:
                self.delivered.labels(result).inc(count)


def outbox_figures(engine: Engine) -> dict[str, Any]:
    """Pending messages, the oldest one's age, quarantine and case counts: read each time."""
    now = utcnow()
    outbound, wo = OutboundMessage, WorkOrder
    with engine.connect() as conn:
        pending, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(col(outbound.created_at))).where(
                col(outbound.status) == "pending"
            )
        ).one()
        pec = dict(
            conn.execute(
                sa.select(col(outbound.pec_state), sa.func.count())
                .where(col(outbound.pec_state).is_not(None))
                .group_by(col(outbound.pec_state))
            ).all()
        )
        receipts = dict(
            conn.execute(
                sa.select(col(PecReceipt.type), sa.func.count()).group_by(col(PecReceipt.type))
            ).all()
        )
        quarantined = conn.execute(
            sa.select(sa.func.count()).where(
                col(InboundMessage.status) == LedgerStatus.QUARANTINED.value
            )
        ).scalar_one()
        open_cases, overdue = conn.execute(
            sa.select(sa.func.count(), sa.func.count().filter(col(wo.due_at) < now)).where(
                col(wo.status) != "closed"
            )
        ).one()
    return {
        "outbox_pending": int(pending),
        "outbox_oldest_seconds": _age(oldest, now),
        "pec_deliveries": {str(k): int(v) for k, v in pec.items()},
        "pec_receipts": {str(k): int(v) for k, v in receipts.items()},
        "quarantined": int(quarantined),
        "cases_open": int(open_cases),
        "cases_overdue": int(overdue),
    }


def _age(oldest: datetime | str | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite's aggregate skips the column type
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - oldest).total_seconds())


class _DatabaseCollector(Collector):
    def __init__(self, engine: Callable[[], Engine], health: Health) -> None:
        self.engine = engine
        self.health = health

    def collect(self) -> Iterator[Any]:
        states = StateSetMetricFamily(
            "mailbot_mailbox_state",
            "Connection state of each mailbox's loop in this instance.",
            labels=["mailbox"],
        )
        for mailbox, state in sorted(self.health.states().items()):
            states.add_metric([mailbox], {s: s == state for s in MAILBOX_STATES})
        yield states
        try:
            figures = outbox_figures(self.engine())
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: database unavailable", error=str(exc).splitlines()[0])
            yield GaugeMetricFamily("mailbot_database_up", "Database reachable.", value=0)
            return
        yield GaugeMetricFamily("mailbot_database_up", "Database reachable.", value=1)
        yield _gauge("mailbot_outbox_pending", "Messages waiting to be sent.",
                     figures["outbox_pending"])  # fmt: skip
        yield _gauge("mailbot_outbox_oldest_pending_seconds",
                     "Age of the oldest message waiting to be sent.",
                     figures["outbox_oldest_seconds"])  # fmt: skip
        yield _labelled("mailbot_pec_deliveries", "Messages sent by PEC, by delivery state.",
                        "state", figures["pec_deliveries"])  # fmt: skip
        yield _labelled("mailbot_pec_receipts", "PEC receipts received, by type.", "type",
                        figures["pec_receipts"])  # fmt: skip
        yield _gauge("mailbot_inbound_quarantined", "Messages waiting in the quarantine.",
                     figures["quarantined"])  # fmt: skip
        yield _gauge("mailbot_cases_open", "Work orders not closed.", figures["cases_open"])
        yield _gauge("mailbot_cases_overdue", "Open work orders past their deadline.",
                     figures["cases_overdue"])  # fmt: skip


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _labelled(name: str, doc: str, label: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the log."""


Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class Endpoint:
    """`/metrics` (Prometheus text format) and `/healthz` (JSON; 200 healthy, 503 not)."""

    def __init__(self, metrics: Metrics, healthy: Callable[[], dict[str, Any]]) -> None:
        self.prometheus = make_wsgi_app(metrics.registry)
        self.healthy = healthy
        self._server: _Server | None = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            result: Iterable[bytes] = self.prometheus(environ, start_response)
            return result
        if path == "/healthz":
            report = self.healthy()
            status = "200 OK" if report["status"] == "ok" else "503 Service Unavailable"
            body = json.dumps(report).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"mailbot: /metrics or /healthz\n"]

    def start(self, host: str, port: int) -> tuple[str, int]:
        server_class = _Server6 if ":" in host else _Server
        try:
            self._server = make_server(
                host, port, self, server_class=server_class, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise ConfigError(
                f"metrics.listen: cannot listen on {host}:{port}: {exc.strerror}"
            ) from None
        thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        thread.start()
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
