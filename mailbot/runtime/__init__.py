"""The running service: `supervisor.run_forever` (systemd's daemon: the mailbox loops, the
outbox loop, signals, reload, health) and `once.run_once` (the same work once).

Imported lazily: the sender process (runtime/sender_process.py) imports only what sending
needs, not the whole pipeline (~25 MB less in that process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailbot.runtime.once import OnceReport, deliver_now, run_once
    from mailbot.runtime.supervisor import run_forever

__all__ = ["OnceReport", "deliver_now", "run_forever", "run_once"]


def __getattr__(name: str) -> Any:
    if name == "run_forever":
        from mailbot.runtime import supervisor

        return supervisor.run_forever
    if name in ("OnceReport", "deliver_now", "run_once"):
        from mailbot.runtime import once

        return getattr(once, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
