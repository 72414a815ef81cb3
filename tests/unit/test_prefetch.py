"""Fetching in a thread ahead of the filing (runtime/prefetch.py): the same messages in the same
order, the source's error raised where the drain reads, and a drain that stops early leaves no
thread fetching (the connection is free for IDLE)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from mailbot.errors import SourceUnavailableError
from mailbot.runtime.prefetch import prefetched


class Source:
    """A fetch generator that records which thread ran it and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.threads: set[str] = set()
        self.closed = threading.Event()
        self.produced = 0

    def fetch(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                self.threads.add(threading.current_thread().name)
                if n == self.fail_at:
                    raise SourceUnavailableError("mailbox suggerimenti: connection lost")
                self.produced += 1
                yield n
        finally:
            self.closed.set()


def test_every_message_in_order_fetched_by_the_thread():
    source = Source(100)
    assert list(prefetched(source.fetch(), depth=4)) == list(range(100))
    assert source.threads == {"prefetch"} and source.closed.is_set()


def test_an_outage_of_the_source_is_raised_where_the_drain_reads():
    source = Source(10, fail_at=6)
    got: list[int] = []
    with pytest.raises(SourceUnavailableError, match="connection lost"):
        for n in prefetched(source.fetch(), depth=2):
            got.append(n)
    assert got == list(range(6))


def test_a_drain_that_stops_early_leaves_no_thread_fetching():
    source = Source(10_000)
    stream = prefetched(source.fetch(), depth=3)
    assert [next(stream) for _ in range(5)] == list(range(5))
    stream.close()
    assert source.closed.is_set()  # closed in its own thread, before close() returned
    assert not [t for t in threading.enumerate() if t.name == "prefetch"]
    assert source.produced <= 5 + 3 + 1  # fetched ahead at most the queue's depth
