"""The online desk of `mailbot run` in a process of its own, so that no visitor slows mail
intake: a flood of forms (each refused one costs CPU: CSRF, parsing, a page) used to take the
interpreter lock from the mailbox threads of the same process (issue 28 measured 200 mails
filed in 46 s instead of 6 s under ten requests a second).

Like the sender process (runtime/sender_process.py) the child is started with `spawn` (none
of the parent's threads, locks or connections), opens its own engine, ignores SIGINT and
SIGTERM (the parent stops it) and dies with the parent (`PR_SET_PDEATHSIG`). A keeper thread
in the parent starts it, waits for it to listen (a `listen` it cannot bind is a ConfigError at
start, as before), starts another when it dies, hands it new settings on a reload and stops it
with the daemon.

The back office (`[backoffice] listen`) runs the same way in a process of its own:
`WebProcess("backoffice")`; the part names the section whose change restarts it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from mailbot import db
from mailbot import log as logs
from mailbot.config import Settings
from mailbot.errors import ConfigError, MailbotError
from mailbot.runtime.children import die_with_parent, killed_at_exit
from mailbot.services import Services, build_services
from mailbot.storage import Store

log = logs.get_logger(__name__)

_READY, _ERROR, _SETTINGS, _STOP = "ready", "error", "settings", "stop"
_START_SECONDS = 60.0  # importing Flask and binding, on a busy machine
_RESTART_PAUSE = 1.0


class WebProcess:
    """`start(services)` returns once the form is served (or raises ConfigError);
    `update(services)` after a reload; `stop()` with the daemon."""

    def __init__(self, part: str = "web") -> None:
        import multiprocessing

        self.part = part  # "web" (the online desk) or "backoffice"

        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._process: Any = None
        self._services: Services | None = None
        self._first: tuple[str, Any] | None = None
        self._started = threading.Event()
        self._keeper: threading.Thread | None = None
        self._restarting = False
        self.port = 0

    def start(self, services: Services) -> None:
        self._services = services
        self._keeper = threading.Thread(target=self._keep, name=f"{self.part}-keeper", daemon=True)
        self._keeper.start()
        self._started.wait()
        kind, value = self._first or (_ERROR, f"{self.part} process did not start")
        if kind == _ERROR:
            self.stop()
            raise ConfigError(str(value))
        self.port = int(value)

    def update(self, services: Services) -> None:
        """New settings: handed to the child; a changed `[web]` section (the server's limits
        are set when it starts), or `[backoffice]` for the back office, restarts it."""
        with self._lock:
            old = self._services
            if old is not None and services.settings is old.settings:
                return
            self._services = services
            if old is not None and _changed(self.part, old.settings, services.settings):
                self._restarting = True
                self._tell(_STOP, None)
            else:
                self._tell(_SETTINGS, (services.settings, services.secret))

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            self._tell(_STOP, None)
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=20)

    def pid(self) -> int | None:
        process = self._process
        return None if process is None else int(process.pid)

    def _tell(self, command: str, payload: object) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):  # it died: the keeper starts another
                self._conn.send((command, payload))

    def _keep(self) -> None:
        """The keeper thread: the child dies with this thread (PR_SET_PDEATHSIG), so it owns it."""
        while not self._stopping.is_set():
            outcome = self._spawn()
            if self._first is None:
                self._first = outcome
                self._started.set()
                if outcome[0] == _ERROR:
                    return
            if outcome[0] == _READY:
                log.info(f"{self.part} process serving", pid=self.pid(), port=outcome[1])
                while not self._stopping.is_set() and self._process.is_alive():
                    self._process.join(0.5)
            if self._stopping.is_set():
                break
            if self._restarting:  # stopped for new settings
                self._restarting = False
                self._process.join(10.0)
                continue
            log.error(
                f"{self.part} process died, starting another",
                exitcode=self._process.exitcode,
                error=str(outcome[1]) if outcome[0] == _ERROR else "",
            )
            self._stopping.wait(_RESTART_PAUSE)
        self._halt()

    def _spawn(self) -> tuple[str, Any]:
        services = self._services
        assert services is not None
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_child_main,
            args=(child, services.settings, services.secret, logs.configuration(), os.getpid()),
            kwargs={"part": self.part},
            name=f"mailbot-{self.part}",
            daemon=True,
        )
        process.start()
        child.close()
        killed_at_exit(process)
        with self._lock:
            if self._conn is not None:  # the previous child's
                self._conn.close()
            self._process, self._conn = process, parent
        try:
            if parent.poll(_START_SECONDS):
                answer: tuple[str, Any] = parent.recv()
                return answer
        except (EOFError, OSError):
            pass
        return _ERROR, f"{self.part} process ended before serving (exit code {process.exitcode})"

    def _halt(self) -> None:
        process = self._process
        if process is None:
            return
        with self._lock:
            self._tell(_STOP, None)
        process.join(10.0)
        if process.is_alive():
            log.warning(f"{self.part} process did not stop in time, killing it", pid=process.pid)
            process.kill()
            process.join(5.0)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._process = self._conn = None


def _child_main(
    conn: Connection,
    settings: Settings,
    secret: bytes,
    logging: tuple[str, bool | None],
    parent: int,
    *,
    part: str = "web",
) -> None:
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logs.configure(*logging)
    from mailbot.web.server import WebServer  # Flask and waitress in this process only

    try:
        current = [_services(settings, secret)]
        if part == "backoffice":
            from mailbot.backoffice.app import create_app

            server = WebServer(lambda: current[0], part, create_app)
        else:
            server = WebServer(lambda: current[0])
    except MailbotError as exc:
        conn.send((_ERROR, str(exc)))
        return
    conn.send((_READY, server.port))
    threading.Thread(target=_listen, args=(conn, server, current), daemon=True).start()
    server.run()


def _services(settings: Settings, secret: bytes) -> Services:
    engine = db.make_engine(settings.database.url, settings.database.lease_seconds)
    return build_services(settings, engine, Store(settings.storage.path), secret)


def _listen(conn: Connection, server: Any, current: list[Services]) -> None:
    """The parent's commands: new settings, or stop (also when the parent is gone)."""
    while True:
        try:
            command, payload = conn.recv()
        except (EOFError, OSError):
            command, payload = _STOP, None
        if command == _SETTINGS:
            old = current[0]
            current[0] = _services(*payload)
            old.engine.dispose()
        elif command == _STOP:
            server.stop()
            log.info(f"{server.name} stopped")
            os._exit(0)


def _changed(part: str, old: Settings, new: Settings) -> bool:
    """Whether the part's own section changed (its server is set up from it at start)."""
    if part == "backoffice":
        return old.backoffice != new.backoffice
    return old.web != new.web
