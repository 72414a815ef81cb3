"""The sent journal: on SQLite, the sender notes each mail the relay accepted in a file of its
own, and the marks reach the database in batches, in write transactions it takes anyway.

A deviation from DESIGN.md's step 5 ("marks each sent"), for SQLite only. SQLite has one
writer at a time; through a backlog the drain holds the write lock most of the time (one
transaction per message), and a sender that marked each mail in a transaction of its own
waited for the lock once a mail: 583 of 972 mails went out during a 500-message drain, the rest
after it, and both processes spun for the lock (issue 32). Now, once the relay has said 250,
the sender appends one line (row id, time) to its journal and fsyncs it before the next mail:
the crash guarantee is the same, a mail accepted and not yet journaled is the only one resent.
The lines are folded (each row still pending marked as `outbox.mark_sent` would have, at the
journaled time, with its `outbound.sent` event) in the sender's next write transaction (the
claim of the next batch, a release, a failure, the end of the pass), then the file is emptied.
PostgreSQL locks rows, not the database: the sender marks each mail as before (no journal).

The file lives beside the database (`<db>.sent-<pid>-<token>`), one a sender (a process, or a
pass of `deliver_pending` not given one), held with `flock` while it lives. A sender that died
leaves its file unlocked: the next write transaction of any sender folds it, then deletes it.
A live sender's file is never touched by another (its lock cannot be taken). Folding twice is
harmless: only rows still pending are marked.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session

from mailbot.db import make_engine, unit_of_work
from mailbot.log import get_logger
from mailbot.replies import outbox

log = get_logger(__name__)

_INFIX = ".sent-"
_NEW = ".new"  # a journal being created: not yet locked, not anyone's to fold


def database_file(url: str | URL) -> Path | None:
    """The SQLite database file at `url`; None for PostgreSQL or an in-memory one."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    return Path(name).resolve()


def fold_left_behind(url: str) -> None:
    """Fold the journals of dead senders now (a parent whose sender process was stopped or
    died); a database is opened only if there is one."""
    database = database_file(url)
    if database is None or not _journals(database, mine=None):
        return
    engine = make_engine(url)
    try:
        with SentJournal(database).writing(engine):
            pass
    finally:
        engine.dispose()


class SentJournal:
    """One sender's journal. `append` after each accepted mail; `writing(engine)` for each
    write transaction (it folds); `close` when the sender ends."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._fd: int | None = None  # created with the first mail, kept until `close`
        self._path: Path | None = None
        self._marks: dict[int, datetime] = {}

    @classmethod
    def for_engine(cls, engine: Engine) -> SentJournal | None:
        database = database_file(engine.url)
        return None if database is None else cls(database)

    @property
    def unfolded(self) -> frozenset[int]:
        """Rows accepted by the relay whose mark is not yet in the database."""
        return frozenset(self._marks)

    def append(self, row_id: int, sent_at: datetime) -> None:
        """Durable when it returns: a crash after it does not resend this mail."""
        fd = self._fd if self._fd is not None else self._create()
        os.write(fd, f"{row_id} {sent_at.isoformat()}\n".encode())
        os.fsync(fd)
        self._marks[row_id] = sent_at

    @contextmanager
    def writing(self, engine: Engine) -> Iterator[Session]:
        """A write transaction (`unit_of_work`) that first folds this journal's marks and the
        journals of dead senders; the files are emptied or deleted once it has committed."""
        mine = dict(self._marks)
        orphans: list[tuple[int, Path]] = []
        try:
            with unit_of_work(engine) as session:
                orphans = _lock_orphans(self._database, self._path)
                marks = dict(mine)
                for fd, _path in orphans:
                    marks.update(read_marks(fd))
                if marks:
                    outbox.mark_journaled(session, marks)
                yield session
            for row_id in mine:
                self._marks.pop(row_id, None)
            if self._fd is not None and mine:
                self._rewrite()
            for _fd, path in orphans:
                path.unlink(missing_ok=True)
            if orphans:
                log.info("sent journals of stopped senders folded", files=len(orphans))
        finally:
            for fd, _path in orphans:
                os.close(fd)  # and its lock

    def close(self) -> None:
        """Deleted if every mark is folded; else left, unlocked, for the next sender to fold."""
        if self._fd is None:
            return
        if not self._marks and self._path is not None:
            self._path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = self._path = None

    def _create(self) -> int:
        # Locked before it gets a name others look for: a scan never sees it unlocked.
        name = f"{self._database.name}{_INFIX}{os.getpid()}-{secrets.token_hex(4)}"
        path = self._database.with_name(name)
        new = path.with_name(name + _NEW)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(new, flags, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        new.rename(path)
        _sync_directory(path.parent)  # the name survives a power cut, as the lines will
        self._fd, self._path = fd, path
        return fd

    def _rewrite(self) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)  # O_APPEND: the next line goes at the start
        if self._marks:  # none in practice: nothing is appended during a transaction
            lines = "".join(f"{i} {at.isoformat()}\n" for i, at in self._marks.items())
            os.write(self._fd, lines.encode())
            os.fsync(self._fd)


def read_marks(fd: int) -> dict[int, datetime]:
    """Every whole line of a journal; a torn last line (the writer died in the middle of it:
    its mail was not yet journaled, so it may be resent) and unreadable lines are skipped."""
    data = b""
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 16):
        data += chunk
    marks: dict[int, datetime] = {}
    for line in data.split(b"\n")[:-1]:  # after the last newline: torn or empty
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            row_id, at = line.decode("ascii").split(" ")
            sent_at = datetime.fromisoformat(at)
            if sent_at.tzinfo is not None:
                marks[int(row_id)] = sent_at
    return marks


def _lock_orphans(database: Path, mine: Path | None) -> list[tuple[int, Path]]:
    """The journals whose sender is gone, each open and locked (a live sender holds its lock)."""
    taken: list[tuple[int, Path]] = []
    for path in _journals(database, mine):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # folded by another sender meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != path.stat().st_ino:
                raise FileNotFoundError(path)  # deleted once folded, after we opened it
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            continue
        taken.append((fd, path))
    return taken


def _journals(database: Path, mine: Path | None) -> list[Path]:
    found = database.parent.glob(f"{glob.escape(database.name)}{_INFIX}*")
    return [path for path in found if path != mine and not path.name.endswith(_NEW)]


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
