"""What the signals tell the running daemon: stop (SIGTERM, SIGINT: the message in hand
is finished, nothing new is started) and reload (SIGHUP: the configuration is read again).

The signals are acted on by a thread of their own, never inside a Python signal handler. A
handler runs in the main thread wherever it happens to be, and if that is inside a lock the
handler's work needs too (structlog's write lock while a log line is printed, an Event's lock)
the process hangs for good: a SIGTERM that arrived while the outbox loop was logging left the
daemon deaf to every later signal. So the handler does nothing; Python's C-level handler
writes the signal's number to a pipe (`signal.set_wakeup_fd`), and `Signals`' thread reads it
and calls `Control` like any other code.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

from mailbot.log import get_logger
from mailbot.services import Services

log = get_logger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Control:
    """What the signals ask for, and the events of the loops currently running."""

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

    def request_stop(self, signum: int) -> None:
        self.stopping = True  # before anything that could wait
        self.end_loops()
        log.info("stopping", signal=signal.Signals(signum).name)

    def request_reload(self) -> None:
        self.reload_requested = True
        self.wake.set()


def _ignored(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: nothing (the wakeup pipe carries the signal to `Signals`)."""


class Signals:
    """While entered: SIGTERM/SIGINT stop `control`, SIGHUP reloads it, from a thread that
    reads the signal numbers off the wakeup pipe. Enter it in the main thread."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)  # the C handler must never block
        self._thread = threading.Thread(target=self._dispatch, name="signals", daemon=True)
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1

    def __enter__(self) -> Signals:
        self._thread.start()
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in (*STOP_SIGNALS, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, _ignored)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._write)  # the thread reads the end of the pipe and returns
        self._thread.join(timeout=5)
        os.close(self._read)

    def _dispatch(self) -> None:
        while data := os.read(self._read, 64):
            for signum in data:
                if signum in STOP_SIGNALS:
                    self.control.request_stop(signum)
                elif signum == signal.SIGHUP:
                    self.control.request_reload()
