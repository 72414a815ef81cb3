"""A test's own "today". `today_is(when)` moves this process's clock there with time-machine
(it keeps ticking from that instant) and `run_cli`/`Daemon` hand the same instant to the
subprocesses they start through Debian's libfaketime, so a date-sensitive test states the day it
is about and passes on any day it runs (scripts/test also runs the calendar tests under
`faketime` on awkward dates: a Saturday, a Sunday, 31 December, Easter Saturday, the night the
clocks go back)."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import time_machine

_pinned: list[time_machine.Traveller] = []


@contextmanager
def today_is(when: datetime) -> Iterator[datetime]:
    """Run the block as if the clock read `when` (aware; UTC when naive) at its start."""
    moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    with time_machine.travel(moment, tick=True) as traveller:
        _pinned.append(traveller)
        try:
            yield moment
        finally:
            _pinned.pop()


def subprocess_env() -> dict[str, str]:
    """What a subprocess needs to start at the test's instant: libfaketime preloaded with it,
    or nothing when no test pinned the clock."""
    if not _pinned:
        return {}
    # Where this process's clock has ticked to by now, not the instant it was pinned at: a
    # subprocess must not start behind what the test already wrote (an outbox row due "now"),
    # nor behind what the subprocess before it wrote. libfaketime starts at a whole second:
    # rounded up, not down (down, a second command could stamp its mail up to a second before
    # the first one's, and a run --once that exits at once left it less time than that).
    seconds = -(-_pinned[-1].time_ns() // 1_000_000_000)
    return faketime_env(datetime.fromtimestamp(seconds, UTC))


def faketime_env(when: datetime) -> dict[str, str]:
    """The environment that starts a subprocess's clock at `when` (libfaketime)."""
    libraries = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not libraries:
        raise RuntimeError("libfaketime is not installed: run scripts/test (Debian's faketime)")
    stamp = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "LD_PRELOAD": libraries[0],
        "FAKETIME": f"@{stamp}",
        "FAKETIME_DONT_RESET": "1",
        "TZ": "UTC",
    }
