"""The systemd service-manager protocol: readiness, status, watchdog and stop notices.

`Type=notify` units get `$NOTIFY_SOCKET` (a Unix datagram socket, `@` for the abstract
namespace) and, with `WatchdogSec=`, `$WATCHDOG_USEC` (and `$WATCHDOG_PID`). Each notice is one
datagram of `KEY=value` lines. Outside systemd the variables are unset and every call does
nothing, so the daemon runs the same from a terminal.

Written here rather than taken from a library: the protocol is a dozen lines (sd_notify(3)),
the maintained binding (python-systemd) needs libsystemd headers and a compiler, and the small
pure-Python packages (sdnotify) are unmaintained and do not read `$WATCHDOG_USEC`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

from mailbot.log import get_logger

log = get_logger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET", "")
        if self.address.startswith("@"):
            self.address = "\0" + self.address[1:]
        self.watchdog_seconds = _watchdog_seconds(env)
        self.ready_sent = False
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def notify(self, **fields: str) -> None:
        """Send `READY=1`-style fields; errors are logged once, never raised (systemd may be
        restarting, and a notice lost is better than a daemon stopped)."""
        if not self.enabled:
            return
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._socket.setblocking(False)
                self._socket.sendto(payload, self.address)
            except OSError as exc:
                log.warning("systemd notify failed", error=str(exc))

    def ready(self, status: str) -> None:
        if not self.ready_sent:
            self.ready_sent = True
            self.notify(READY="1", STATUS=status)

    def status(self, text: str) -> None:
        self.notify(STATUS=text)

    def reloading(self) -> None:
        """READY=1 follows when the loops are back (or the old configuration stays)."""
        self.ready_sent = False
        monotonic_usec = str(time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
        self.notify(RELOADING="1", STATUS="reloading configuration", MONOTONIC_USEC=monotonic_usec)

    def stopping(self) -> None:
        self.notify(STOPPING="1", STATUS="finishing the messages in hand")

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


class WatchdogFeeder:
    """Pings the watchdog every half interval, but only while `healthy()` says every loop of
    the daemon is alive; a hung daemon stops the pings and systemd restarts it."""

    def __init__(self, notifier: Notifier, healthy: Callable[[], bool]) -> None:
        self.notifier = notifier
        self.healthy = healthy
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        interval = self.notifier.watchdog_seconds
        if interval is None or not self.notifier.enabled:
            return
        self._thread = threading.Thread(
            target=self._run, args=(interval / 2,), name="watchdog", daemon=True
        )
        self._thread.start()

    def _run(self, every: float) -> None:
        warned = False
        while not self._stop.wait(every):
            if self.healthy():
                self.notifier.notify(WATCHDOG="1")
                warned = False
            elif not warned:
                warned = True
                log.error("watchdog not fed: a daemon loop is not answering")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
