"""One loop per mailbox, in a thread of its own (IMAP is blocking): take the lease, drain,
wait (IDLE or a poll), back off exponentially on outages and never die of one.
"""

from __future__ import annotations

from mailbot.config import MailboxSettings
from mailbot.errors import MailbotError, TransientError
from mailbot.log import get_logger
from mailbot.runtime.control import Control
from mailbot.runtime.drain import drain
from mailbot.runtime.health import Runtime, status_line
from mailbot.runtime.leases import RETRY_SECONDS, Keeper, LeaseLostError
from mailbot.runtime.once import (
    source_for,
)
from mailbot.services import Services

log = get_logger(__name__)


class Backoff:
    def __init__(self, first: float = 1.0, most: float = 300.0) -> None:
        self.first, self.most, self.current = first, most, first

    def next(self) -> float:
        value = self.current
        self.current = min(self.current * 2, self.most)
        return value

    def reset(self) -> None:
        self.current = self.first


class MailboxLoop:
    """One mailbox, in a thread of its own. `halt` is set on stop and when the lease is lost;
    `stop` alone ends the loop."""

    def __init__(
        self,
        services: Services,
        mailbox: MailboxSettings,
        keeper: Keeper,
        control: Control,
        runtime: Runtime,
    ) -> None:
        self.services, self.mailbox, self.keeper = services, mailbox, keeper
        self.stop, self.halt, self.wake = control.stop, control.halts[mailbox.name], control.wake
        self.health, self.notifier = runtime.health, runtime.notifier
        self.observe = runtime.metrics.observe if runtime.metrics else None
        self.source = source_for(services, mailbox)
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
                    log.info("mailbox connected", mailbox=name, source=where)
                    self._state("connected")  # READY, after the line above
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
            self.notifier.ready(status_line(self.health))  # once: the first mailbox in place
        self.notifier.status(status_line(self.health))
