"""The outbox sender of `mailbot run`: in a thread of the daemon (`[outbox] sender = "thread"`,
the default) or in a process of its own (`"process"`), so that ingest and sending use two cores.

Both run the same loop (`_serve`) behind the same handle and pipe; they differ in what they
cost. A process holds its own interpreter, SQLAlchemy and models (~65 MB idle) and through a
3,000-message backlog the two peaked at 212-222 MB together, over issue 32's 200; a thread adds
~10 MB to the daemon, which peaked at 155-166 MB, but files and sends on one core through the
interpreter lock: the backlog drained 15-25% slower (53 s against 46 s in the same minute;
bench/backlog_rss.py, bench/README "Fifth stop"; the sender's own CPU is ~2-3 ms a mail). The
default is the lighter; a machine with a core to spare can take the faster. What follows is
the process's history and rules; a thread obeys the same stop (the halt event, between two
mails) and dies with the daemon anyway.

Before, `mailbot run` filed mail in its mailbox threads and sent it from the asyncio loop of the
same process: one interpreter lock, so through a backlog the two took turns on one core
(issue 19 measured 20 ms of CPU a message, a quarter of it sending). Now the sending pass
(`replies.delivery.deliver_pending`: claim rows, SMTP, mark them) runs in a child process. The
outbox loop in the parent still decides when to send (woken by queued mail, every few seconds,
backing off through an outage), sends the digests, reports failures and feeds the metrics
from the reports the child sends back. DESIGN.md's step 6 ("the outbox sender,
independently, claims pending rows…") is unchanged: the rows are claimed with a lease, so the
child is one more sender of the kind several instances already are.

The child
- is started with `spawn`: it inherits none of the parent's threads, locks or database
  connections; it gets the settings and the logging set-up, and opens its own engine and relay
  connections;
- ignores SIGINT and SIGTERM (systemd sends SIGTERM to the whole unit): a stop reaches it from
  the parent, between two mails, so a mail the relay accepted is marked sent before it exits;
- dies with the parent (Linux `PR_SET_PDEATHSIG`): a SIGKILLed daemon leaves nothing sending
  beside the restarted one, and the crash costs at most the mail in hand, resent, as before;
- if it dies, the pass is reported as an error and the next pass starts a new one;
- once stopped and closed it leaves with `os._exit` (no interpreter teardown: ~0.3 s the
  parent waited for), and a parent exiting without stopping it kills it (`runtime/children`).

On SQLite the child notes each mail the relay accepted in its sent journal (a file beside the
database, `replies/sent_journal.py`) and the marks reach the database with its next write
transaction: it no longer waits for SQLite's one write lock once a mail while the drain holds
it. Every pass ends with the marks folded; a child killed between the two leaves its journal,
folded by `stop` (or by any sender's next write transaction) before a row can go twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Any

from sqlalchemy.engine import Engine

from mailbot import db
from mailbot import log as logs
from mailbot.config import Settings
from mailbot.engine import SENDER_PAGE_CACHE_MB
from mailbot.errors import TransientError
from mailbot.replies.delivery import DeliveryReport, deliver_pending
from mailbot.replies.sender import Router, make_transport
from mailbot.replies.sent_journal import SentJournal, fold_left_behind
from mailbot.runtime.children import die_with_parent, end_now, killed_at_exit

log = logs.get_logger(__name__)

_DELIVER, _IDLE, _SETTINGS, _STOP = "deliver", "idle", "settings", "stop"
_POLL_SECONDS = 0.05  # how often a waiting parent looks at its stop flag (a run's end waits)


class SenderProcess:
    """The parent's handle. `ensure(settings)` (in the thread that owns the handle: the child
    dies with that thread) starts the child or hands it new settings; `deliver(stopping)` then
    blocks until the child's pass is over (call it through `asyncio.to_thread`), asking
    `stopping()` while it waits: once true, the child stops after the mail in hand."""

    def __init__(self, threaded: bool | None = False) -> None:
        """`threaded`: None (the daemon) follows `[outbox] sender`, reloads included."""
        self._context = multiprocessing.get_context("spawn")
        self._mode = threaded
        self._threaded = bool(threaded)
        self._process: BaseProcess | threading.Thread | None = None
        self._conn: Connection | None = None
        # Made with each sender (`ensure`): a process's needs multiprocessing's tracker process.
        self._halt: Event | threading.Event = threading.Event()
        self._settings: Settings | None = None
        self._database = ""  # the child's database, kept after it is gone: `stop` folds there

    def ensure(self, settings: Settings) -> None:
        if self._process is not None and not self._alive():
            self._died()
        threaded = settings.outbox.sender == "thread" if self._mode is None else self._mode
        if self._conn is not None and threaded != self._threaded:  # a reload changed it
            self.stop()
        self._threaded = threaded
        if self._conn is None:
            parent, child = self._context.Pipe()
            self._halt = self._new_halt()
            process: BaseProcess | threading.Thread
            if self._threaded:
                process = threading.Thread(
                    target=_thread_main,
                    args=(child, self._halt, settings),
                    name="mailbot-sender",
                    daemon=True,  # one that did not stop in time does not hold the exit
                )
            else:
                process = self._context.Process(
                    target=_child_main,
                    args=(child, self._halt, settings, logs.configuration(), os.getpid()),
                    name="mailbot-sender",
                    daemon=True,
                )
            process.start()
            if not self._threaded:
                child.close()  # the thread's end is closed by the thread
                killed_at_exit(process)  # type: ignore[arg-type]
            self._process, self._conn, self._settings = process, parent, settings
            self._database = settings.database.url
            log.info("sender started", threaded=self._threaded, pid=getattr(process, "pid", None))
        elif settings is not self._settings:  # a reload: the child takes the new settings
            self._send(_SETTINGS, settings)
            self._settings, self._database = settings, settings.database.url
        self._halt.clear()

    def deliver(self, stopping: Callable[[], bool]) -> DeliveryReport:
        conn = self._conn
        try:
            if conn is None:
                raise EOFError
            conn.send((_DELIVER, None))
            while not conn.poll(_POLL_SECONDS):
                if stopping():
                    self._halt.set()
                if not self._alive():
                    raise EOFError
            report: DeliveryReport = conn.recv()
            return report
        except (EOFError, OSError):
            return DeliveryReport(errors=[self._died()])

    def idle(self) -> None:
        """Nothing to send for a while: the child lets go of the relay's connection."""
        self._send(_IDLE, None)

    def stop(self, timeout: float = 30.0) -> None:
        """After the mail in hand; killed if it does not end within `timeout`. Returns with
        every mail it sent marked: a child killed, or dead before, may have left marks in its
        sent journal, folded here."""
        process = self._process
        if process is None:
            self._fold_left_behind()
            return
        self._halt.set()
        if self._conn is not None:
            with contextlib.suppress(OSError):  # already gone: nothing to tell
                self._conn.send((_STOP, None))
        process.join(timeout)
        if isinstance(process, threading.Thread):
            if process.is_alive():  # a thread cannot be killed: it ends with the daemon
                log.warning("sender thread did not stop in time")
        elif process.is_alive():
            log.warning("sender process did not stop in time, killing it", pid=process.pid)
            process.kill()
            process.join(5.0)
        self._forget()
        self._fold_left_behind()

    def _fold_left_behind(self) -> None:
        if not self._database:
            return
        try:
            fold_left_behind(self._database)
        except TransientError as exc:  # the next sender's first write transaction folds them
            log.warning("sent journal not folded", error=str(exc))

    def _send(self, command: str, payload: object) -> None:
        if self._conn is None:
            return
        try:
            self._conn.send((command, payload))
        except OSError:  # it died: the next `ensure` starts another
            self._died()

    def _died(self) -> str:
        process = self._process
        if process is not None:
            process.join(1.0)
        code = getattr(process, "exitcode", None)
        self._forget()
        log.error("sender died, a new one starts with the next pass", exitcode=code)
        return f"sender died (exit code {code})"

    def _new_halt(self) -> Event | threading.Event:
        return threading.Event() if self._threaded else self._context.Event()

    def _alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _forget(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = self._settings = None


def _child_main(
    conn: Connection, halt: Event, settings: Settings, logging: tuple[str, bool | None], parent: int
) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.configure(*logging)
    asyncio.run(_serve(conn, halt, settings))
    end_now()  # its parent waits for it: a stop, the end of `run --once`


def _thread_main(conn: Connection, halt: threading.Event, settings: Settings) -> None:
    try:
        asyncio.run(_serve(conn, halt, settings))
    except OSError:  # the daemon closed its end (a stop that did not wait for this pass)
        log.info("sender thread ended: the daemon no longer listens")
    finally:
        conn.close()


async def _serve(conn: Connection, halt: Event | threading.Event, settings: Settings) -> None:
    engine = _engine(settings)
    journal = SentJournal.for_engine(engine)  # SQLite: this process's, locked while it lives
    transport: Router = make_transport(settings)
    try:
        while True:
            command, payload = await asyncio.to_thread(_receive, conn)
            if command == _STOP:
                return
            if command == _IDLE:
                await transport.close()
            elif command == _SETTINGS:
                await transport.close()
                engine.dispose()
                if journal is not None:
                    journal.close()
                settings = payload
                engine, transport = _engine(settings), make_transport(settings)
                journal = SentJournal.for_engine(engine)
            elif command == _DELIVER:
                conn.send(await _pass(engine, settings, transport, halt, journal))
    finally:
        if journal is not None:
            journal.close()  # empty after a pass: deleted; else left for the next sender
        await transport.close()
        engine.dispose()


def _engine(settings: Settings) -> Engine:
    """The sender's own; it never looks up the registry: SQLite's page cache at its default."""
    return db.make_engine(settings.database.url, page_cache_mb=SENDER_PAGE_CACHE_MB)


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        received: tuple[str, Any] = conn.recv()
    except EOFError:  # the parent is gone
        return _STOP, None
    return received


async def _pass(
    engine: Engine,
    settings: Settings,
    transport: Router,
    halt: Event | threading.Event,
    journal: SentJournal | None,
) -> DeliveryReport:
    try:
        return await deliver_pending(
            engine, settings, transport, should_stop=halt.is_set, journal=journal
        )
    except TransientError as exc:  # the database is away: the parent backs off
        log.warning("outbox unavailable", error=str(exc))
        return DeliveryReport(errors=[str(exc)])
    except Exception as exc:  # a bug: logged whole, told to the parent, the child lives on
        log.error("outbox pass failed", exc_info=True)
        return DeliveryReport(errors=[f"outbox pass failed: {exc}"])
