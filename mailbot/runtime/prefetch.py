"""Fetching the next messages in a thread while this one files them, through a backlog.

The source's fetch (`BODY.PEEK[]` in batches, a few MB a batch) waits on the socket most of its
time, and a socket read lets go of the interpreter lock: in a thread of its own it overlaps with
the filing instead of stopping it once a batch. Only the thread iterates the source's generator
(so only it talks to the IMAP connection while the drain runs) and hands the messages over,
in order, through a bounded queue; an error of the source (an outage) reaches the drain as if
it had fetched itself. When the drain stops early the thread is told, closes the generator in
its own thread and ends before `prefetched` returns, so the connection is free again (IDLE).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")

DEPTH = 8  # messages fetched ahead at most (a batch's messages are in memory anyway)
_ITEM, _ERROR, _END = "item", "error", "end"
_WAIT = 0.05  # how often a thread blocked on a full queue looks whether it may stop


def prefetched(items: Iterable[T], depth: int = DEPTH) -> Generator[T, None, None]:
    handover: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(kind: str, value: object) -> bool:
        while not stop.is_set():
            try:
                handover.put((kind, value), timeout=_WAIT)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer(_ITEM, item):
                    return
        except BaseException as exc:  # handed to the drain, raised there
            offer(_ERROR, exc)
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        offer(_END, None)

    thread = threading.Thread(target=fetch, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handover.get()
            if kind == _ITEM:
                yield value  # type: ignore[misc]
            elif kind == _ERROR:
                assert isinstance(value, BaseException)
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()
