"""What the signals tell the running daemon: stop (SIGTERM, SIGINT: the message in hand
is finished, nothing new is started) and reload (SIGHUP: the configuration is read again).
"""

from __future__ import annotations

import signal
import threading

from mailbot.log import get_logger
from mailbot.services import Services

log = get_logger(__name__)


class Control:
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
