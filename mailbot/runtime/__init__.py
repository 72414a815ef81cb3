"""The running service: `supervisor.run_forever` (systemd's daemon: the mailbox loops, the
outbox loop, signals, reload, health) and `once.run_once` (the same work once).
"""

from __future__ import annotations

from mailbot.runtime.once import OnceReport, deliver_now, run_once
from mailbot.runtime.supervisor import run_forever

__all__ = ["OnceReport", "deliver_now", "run_forever", "run_once"]
