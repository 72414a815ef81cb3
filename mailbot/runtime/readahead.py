"""Reading ahead through a backlog: the next messages are stored and parsed in a process of
their own while this one files the current one.

Storing the original (SHA-256, write, fsync) and reading it (the PEC envelope, mail-parser, HTML
to text) read no table and are a tenth of a message's time; filing (the transaction: ledger,
matching, the case, its mails) must stay in order in the process that holds the database. So
through a backlog (`run --once` after `START_AFTER` messages, as the sender starts beside it)
a child process takes each fetched message as it comes, stores and reads it, and hands back
the digest and what it read; the drain files them in order. Nothing changes in what is
recorded: the original is in the store before its transaction starts, as DESIGN.md's step 2
says, and a message the child could not read (an error of any kind, a child that died, an
oversized original the source already streamed to the store) is stored and read here again,
so the error is the one the pipeline records today.

The child also peeks at the header block for the ledger and asks the upstream filters' headers
about spam (issue 32: a twentieth of the drain's own time). It imports only the parser's and
the settings' modules (~35 MB, no ORM), is started with `spawn`, dies
with its parent (Linux `PR_SET_PDEATHSIG`) and ignores SIGINT/SIGTERM: the parent ends it.
A thread on each side takes what comes off the pipe as it comes (requests in the child, results
here), so neither side blocks on a full pipe while the other is busy: the child reads on while
the drain files a group, up to `WINDOW` messages or `WINDOW_BYTES` ahead of it. (With only
the child's thread, each result waited in the pipe until the drain asked for it, and the child
with it: through 500 messages the drain then waited 1.8 s for results it could have had.)
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections import deque
from collections.abc import Generator, Iterable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from mailbot.config import SpamSettings
from mailbot.ingest.reading import Ahead, ahead
from mailbot.runtime.children import die_with_parent, end_now, killed_at_exit
from mailbot.storage import Store
from mailbot.types import Origin

START_AFTER = 20  # a short run (the demo, cron) never starts the child
# Handed to the child before the oldest one's result is awaited: more than a group
# (runtime/drain.py's GROUP_MESSAGES), so the next group is read while this one is filed.
WINDOW = 32
WINDOW_BYTES = 16_000_000  # and at most this much mail held for it
_LOST = object()  # the receiving thread's word that the child is gone

Item = tuple[Origin, bytes]


class ReadAhead:
    """`stream(items)` yields each `(origin, raw)` with its `Ahead`, or None when the caller is
    to store and read the message itself; in the items' order. The child starts after
    `start_after` messages of a run; `close()` ends it."""

    def __init__(
        self,
        store_root: Path,
        spam: SpamSettings | None = None,
        start_after: int | None = None,
        window: int = WINDOW,
    ) -> None:
        self._root = store_root
        self._spam = spam  # the filters' headers are asked there too, under these settings
        self._start_after = START_AFTER if start_after is None else start_after
        self._window = window
        self._seen = 0
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._results: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._receiver: threading.Thread | None = None
        # Until the child's first answer (it is still importing the parser) a message it was
        # given is read here, and the child's late result for it skipped: nobody waits for it.
        self._warm = False
        self._owed = 0

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_child_main, args=(child, str(self._root), os.getpid(), self._spam),
            name="mailbot-readahead", daemon=True,
        )  # fmt: skip
        self._process.start()
        child.close()
        killed_at_exit(self._process)
        self._conn = parent
        self._results = queue.SimpleQueue()
        self._receiver = threading.Thread(
            target=_receive, args=(parent, self._results), name="readahead-results", daemon=True
        )
        self._receiver.start()

    @property
    def running(self) -> bool:
        return self._conn is not None

    def stream(
        self, items: Iterable[Item]
    ) -> Generator[tuple[Origin, bytes, Ahead | None], None, None]:
        pending: deque[tuple[Origin, bytes, bool]] = deque()  # (origin, raw, sent to the child)
        held = 0  # bytes in pending
        try:
            for origin, raw in items:
                self._seen += 1
                if self._seen == self._start_after and self._process is None:
                    self.start()
                pending.append((origin, raw, self._send(origin, raw)))
                held += len(raw)
                while len(pending) >= self._window or held > WINDOW_BYTES:
                    held -= len(pending[0][1])
                    yield self._next(pending)
            while pending:
                yield self._next(pending)
        finally:
            self._forget(pending)  # the caller stopped early: results still owed are read

    def close(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.send_bytes(b"")  # the child's signal to end
        if process is not None:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._end(conn)  # the child is gone, so its end of the pipe: the receiver has its EOF

    def _send(self, origin: Origin, raw: bytes) -> bool:
        if self._conn is None or origin.stored_sha256 or not raw:
            return False  # an oversized original is in the store already: read it here
        try:
            self._conn.send_bytes(raw)
        except OSError:
            self._lost()
            return False
        return True

    def _next(
        self, pending: deque[tuple[Origin, bytes, bool]]
    ) -> tuple[Origin, bytes, Ahead | None]:
        origin, raw, sent = pending.popleft()
        if not sent:
            return origin, raw, None
        if not self._warm and self._conn is not None and self._results.empty():
            self._owed += 1
            return origin, raw, None
        while self._owed:
            self._owed -= 1
            self._result()
        return origin, raw, self._result()

    def _result(self) -> Ahead | None:
        if self._conn is None:
            return None
        result = self._results.get()
        if result is _LOST:
            self._lost()
            return None
        self._warm = True  # it has answered once: from now on its answers are awaited
        return result if isinstance(result, Ahead) else None  # None: the child failed on it

    def _forget(self, pending: deque[tuple[Origin, bytes, bool]]) -> None:
        owed = self._owed + sum(1 for _origin, _raw, sent in pending if sent)
        self._owed = 0
        pending.clear()
        for _ in range(owed):
            self._result()

    def _lost(self) -> None:
        """The child is gone: the rest is read here, and its handle dropped."""
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if process is not None:
            process.join(1)
        self._end(conn)

    def _end(self, conn: Connection | None) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.join(5)
        if conn is not None:
            conn.close()


def _child_main(
    conn: Connection, root: str, parent_pid: int, spam: SpamSettings | None = None
) -> None:
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends us, between two messages
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    store = Store(Path(root))
    requests: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    threading.Thread(target=_take, args=(conn, requests), daemon=True).start()
    while raw := requests.get():
        try:
            payload = pickle.dumps(ahead(store.put(raw), raw, spam), pickle.HIGHEST_PROTOCOL)
        except Exception:
            payload = b""
        try:
            conn.send_bytes(payload)
        except OSError:
            break
    end_now()  # every original it stored is fsynced; the drain waits for this exit


def _receive(conn: Connection, results: queue.SimpleQueue[object]) -> None:
    """The parent's side: each result as it comes, so the child never waits to hand it over."""
    try:
        while True:
            payload = conn.recv_bytes()
            # None: the child failed on it, and the pipeline does it again and sees why
            results.put(pickle.loads(payload) if payload else None)  # noqa: S301 - our own child
    except (EOFError, OSError):
        pass
    finally:  # whatever ended it, the drain reads the rest itself rather than wait
        results.put(_LOST)


def _take(conn: Connection, requests: queue.SimpleQueue[bytes]) -> None:
    try:
        while True:
            raw = conn.recv_bytes()
            requests.put(raw)
            if not raw:
                return
    except (EOFError, OSError):
        requests.put(b"")
