"""Sending while draining, for `run --once` through a backlog.

`run --once` drains every mailbox, then sends what the drain queued. Through a backlog (a town
hall back from a weekend outage, thousands of mails waiting) the sending is a third of the time,
on one core while the other idles. So once the drain has filed `START_AFTER` messages, the
daemon's sender process (`sender_process.py`: its own interpreter, its own database and relay
connections, rows claimed with a lease) starts beside it and sends what is due, pass after
pass, while the drain goes on. When the drain ends it goes on beside `run_once`'s own last
pass (two senders through the tail, each row claimed by one); once that pass is over
(`finish`) it ends the pass in hand, which sends until nothing is due, and starts no other. A
run that failed stops it after the mail in hand (the rest of its claim given back). A thread in
this process was tried first and gained nothing: one interpreter lock (bench/README).

A short run --once (the demo, cron every few minutes, most tests) files fewer than
`START_AFTER` and never starts the process (~0.4 s of start-up on the other core).
"""

from __future__ import annotations

import threading

from mailbot.config import Settings
from mailbot.replies.delivery import DeliveryReport
from mailbot.runtime.sender_process import SenderProcess
from mailbot.types import Outcome

START_AFTER = 50
_IDLE_SECONDS = 0.5  # nothing was due: the next pass after this, or when a message is filed


class Overlap:
    """`observe` is the drain's per-message callback; `finish()` once `run_once` no longer
    needs it (after its last pass, or at once)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._seen = 0
        self._wake = threading.Event()
        self._done = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.report = DeliveryReport()

    def observe(self, _mailbox: str, _outcome: Outcome, _seconds: float) -> None:
        self._seen += 1
        if self._thread is None and self._seen >= START_AFTER:
            # The child dies with the thread that starts it: this one, until finish().
            self._thread = threading.Thread(target=self._send, name="overlap-sender", daemon=True)
            self._thread.start()
        self._wake.set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def finish(self, *, at_once: bool = False) -> DeliveryReport:
        """No pass after the one in hand (which sends until nothing is due: the rows it has
        claimed leave with it), or with `at_once` (the run failed) none after the mail in hand;
        what was sent, retried or failed meanwhile. Until then it sends on, drain over or not."""
        if at_once:
            self._halt.set()
        self._done.set()
        self._wake.set()
        if self._thread is not None:
            try:
                self._thread.join()
            except BaseException:  # Ctrl-C meanwhile: after the mail in hand, not killed at exit
                self._halt.set()
                self._thread.join()
                raise
        return self.report

    def _send(self) -> None:
        sender = SenderProcess()
        try:
            sender.ensure(self._settings)
            while not self._done.is_set():
                self._wake.clear()
                delivered = sender.deliver(self._halt.is_set)
                if delivered.blocked:  # the relay is away: the pass after the drain says so
                    return
                merge(self.report, delivered)
                if not delivered.sent:
                    self._wake.wait(_IDLE_SECONDS)
        finally:
            sender.stop()


def merge(into: DeliveryReport, other: DeliveryReport) -> DeliveryReport:
    into.sent += other.sent
    into.retried += other.retried
    into.failed += other.failed
    into.errors.extend(other.errors)
    return into
