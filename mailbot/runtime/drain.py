"""One mailbox drained: everything new, oldest first, the cursor read once per batch, the
messages filed in groups (`pipeline.prepare`, then `pipeline.file`: one transaction a group).
The pipeline knows what happens to a message; this is the loop over a source that the mailbox
loop and `run --once` share.

A group is what was fetched together, up to `GROUP_MESSAGES` or `GROUP_SECONDS` of work, so the
sender process and the web form still get SQLite's write lock between two groups, and up to
`GROUP_BYTES` of mail, as its messages are held parsed until the commit; a message that arrives
alone (IDLE) is a group of one, filed at once. The source, `observe` and the
report hear of a message only after its group committed.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mailbot.db import unit_of_work
from mailbot.ingest import ledger
from mailbot.ingest.group import Pending
from mailbot.ingest.reading import Ahead
from mailbot.ingest.sources import Source
from mailbot.pipeline import Fence, file, prepare, unfenced
from mailbot.runtime.prefetch import prefetched
from mailbot.runtime.readahead import ReadAhead
from mailbot.services import Services
from mailbot.types import Origin, Outcome

GROUP_MESSAGES = 20
GROUP_SECONDS = 0.3
GROUP_BYTES = 1_000_000


@dataclass
class DrainReport:
    counts: dict[str, int]

    def add(self, outcome: Outcome) -> None:
        key = "duplicate" if outcome.duplicate else str(outcome.status)
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def drain(
    services: Services,
    source: Source,
    should_stop: Callable[[], bool] = lambda: False,
    fence: Fence = unfenced,
    observe: Callable[[str, Outcome, float], None] | None = None,
    *,
    ahead: ReadAhead | None = None,
) -> DrainReport:
    """Process everything new in one mailbox, oldest first, until it is empty or told to stop.
    `observe(mailbox, outcome, seconds)` hears of each message (the daemon's metrics);
    `ahead` stores and reads the next messages in a process of its own through a backlog."""
    report = DrainReport(counts={})
    while not should_stop():
        with unit_of_work(services.engine) as session:
            cursor = ledger.load_cursor(session, source.name)
        with contextlib.ExitStack() as closing:  # an outage too ends the fetching thread here
            fetched = source.fetch(cursor)
            if ahead is not None:  # through a backlog: fetched in a thread, read in a process
                thread = closing.enter_context(contextlib.closing(prefetched(fetched)))
                stream = closing.enter_context(contextlib.closing(ahead.stream(thread)))
            else:
                stream = ((o, r, None) for o, r in fetched)
            seen_any = _file_groups(
                services, source, stream, should_stop=should_stop, fence=fence, observe=observe,
                report=report,
            )  # fmt: skip
        if not seen_any:
            break
    return report


def _file_groups(
    services: Services,
    source: Source,
    stream: Iterator[tuple[Origin, bytes, Ahead | None]],
    *,
    should_stop: Callable[[], bool],
    fence: Fence,
    observe: Callable[[str, Outcome, float], None] | None,
    report: DrainReport,
) -> bool:
    """Group after group until the fetch is over or a stop: whether there was any."""
    seen_any = False
    while True:
        group, seconds = _gather(services, stream, should_stop)
        if not group:
            return seen_any
        seen_any = True
        started = time.perf_counter()
        outcomes = file(services, group, fence)  # committed
        share = (time.perf_counter() - started) / len(group)
        for pending, outcome, prepared in zip(group, outcomes, seconds, strict=True):
            if observe is not None:
                observe(source.name, outcome, prepared + share)
            source.processed(pending.origin)
            report.add(outcome)
        if should_stop():
            return seen_any


def _gather(
    services: Services,
    fetched: Iterator[tuple[Origin, bytes, Ahead | None]],
    should_stop: Callable[[], bool],
) -> tuple[list[Pending], list[float]]:
    """The next group, each message stored and parsed (outside the transaction), with the
    seconds each took; empty when the source has nothing more."""
    group: list[Pending] = []
    seconds: list[float] = []
    started = time.perf_counter()
    size = 0
    for origin, raw, ahead in fetched:
        began = time.perf_counter()
        group.append(prepare(services, raw, origin, ahead))
        seconds.append(time.perf_counter() - began)
        size += len(raw)
        if (
            len(group) >= GROUP_MESSAGES
            or size >= GROUP_BYTES
            or time.perf_counter() - started >= GROUP_SECONDS
            or should_stop()
        ):
            break
    return group, seconds
