"""One mailbox drained: everything new, oldest first, each message through
`pipeline.process_inbound`, the cursor read once per batch. The pipeline knows what happens to
one message; this is the loop over a source that the mailbox loop and `run --once` share.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.db import unit_of_work
from mailbot.ingest import ledger
from mailbot.ingest.sources import Source
from mailbot.pipeline import Fence, process_inbound, unfenced
from mailbot.services import Services
from mailbot.types import Outcome


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
) -> DrainReport:
    """Process everything new in one mailbox, oldest first, until it is empty or told to stop.
    `observe(mailbox, outcome, seconds)` hears of each message (the daemon's metrics)."""
    report = DrainReport(counts={})
    while not should_stop():
        with unit_of_work(services.engine) as session:
            cursor = ledger.load_cursor(session, source.name)
        seen_any = False
        for origin, raw in source.fetch(cursor):
            seen_any = True
            started = time.perf_counter()
            outcome = process_inbound(services, raw, origin, fence)
            if observe is not None:
                observe(source.name, outcome, time.perf_counter() - started)
            source.processed(origin)
            report.add(outcome)
            if should_stop():
                break
        if not seen_any:
            break
    return report
