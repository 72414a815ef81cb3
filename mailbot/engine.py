"""The database engine, without the ORM or the tables: connecting (SQLite in WAL mode with
synchronous=FULL, BEGIN IMMEDIATE taken as soon as the lock is free), outages as
`DatabaseUnavailableError`, the schema revision check, and read-only connections for the
commands that only list (`reading`). `mailbot.db` builds its sessions on it; a command that
only reads through SQLAlchemy Core (`workorders list`) loads this and SQLAlchemy Core, not
SQLModel, Pydantic and the 23 table classes (~0.3 s).

SQLite: a committed message survives a power cut, which matters more here than the ~0.3 ms
it costs per commit. A writer waiting for another takes the lock as soon as it is free
(`_begin_immediate`), not at SQLite's own coarse retry times; a read-only transaction takes no
write lock at all.

Alembic (~0.4 s to import) is loaded only to upgrade: the schema check every command makes
(`current_revision`, `head_revision`) reads the `alembic_version` table and the migration
files' `revision` lines itself, and asks Alembic only if they are not one straight line.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from mailbot.errors import ConfigError, DatabaseUnavailableError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig


# Each connection's. A 200,000-row registry's look-ups are as fast as with 64 MB, which filled up
# through a backlog with the pages filing writes (the outbox's mails): the daemon peaked at
# 195-206 MB; 166 MB with 32 (16: 151 MB, but name searches ~30% slower). bench/README.
PAGE_CACHE_MB = 32
SENDER_PAGE_CACHE_MB = 2  # SQLite's default


def make_engine(
    url: str, stalled_seconds: float | None = None, *, page_cache_mb: int = PAGE_CACHE_MB
) -> Engine:
    """`stalled_seconds` (the daemon passes its lease time): on PostgreSQL, a session idle inside
    a transaction that long is ended by the server, so a stalled instance (paused VM, SIGSTOP)
    cannot keep the locks the others need, its mailbox lease among them; it rolls back and finds
    out when it wakes. Not for admin commands, which may think between two queries.
    `page_cache_mb`: SQLite's page cache, each connection's (the sender process, which never
    looks up the registry, takes the least)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"database.url: {url!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.is_dir():  # a typo must not become a directory tree (made as root)
                raise ConfigError(
                    f"database.url: directory {parent} does not exist; create it (owned by "
                    "the user mailbot runs as) or correct the URL"
                )
        engine = sa.create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, page_cache_mb))
        # Let SQLAlchemy issue BEGIN itself so a transaction covers reads and writes alike.
        event.listen(engine, "begin", _begin_immediate)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        # Which instance a server session belongs to (`Leases` ends a stalled holder's).
        connect_args["application_name"] = application_name(socket.gethostname(), os.getpid())
    if parsed.get_backend_name() == "postgresql" and stalled_seconds:
        stalled_ms = int(stalled_seconds * 1000)
        connect_args["options"] = f"-c idle_in_transaction_session_timeout={stalled_ms}"
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"database.url: driver not available: {exc}") from None


def application_name(host: str, pid: int | str) -> str:
    """The PostgreSQL `application_name` of a mailbot process's sessions (63 bytes at most)."""
    return f"mailbot:{host}:{pid}"[:63]


def _sqlite_pragmas(page_cache_mb: int, dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.execute(f"PRAGMA cache_size=-{page_cache_mb * 1024}")  # in KiB when negative
    cursor.close()


SQLITE_BUSY_SECONDS = 30
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0002, 0.002


def _begin_immediate(conn: sa.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer in pauses of 0.2 to 2 ms. SQLite's own busy
    handler sleeps 1, 2, 5, 10 … 100 ms between tries: a process waiting on one that writes
    back to back (the mailbox loop through a backlog, ~1 ms between two messages' transactions)
    sleeps past every gap, and the sender process got one mark in ~58 ms (issue 19). After
    `SQLITE_BUSY_SECONDS` the last try waits with SQLite's handler and raises as before."""
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")  # WAL: a reader neither waits for the writer nor stops it
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    pause = _FIRST_PAUSE
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    break  # not another writer: raised below, the SQLAlchemy way
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "mailbot_read_only"  # the execution option `_begin_immediate` reads


@contextmanager
def reading(engine: Engine) -> Iterator[sa.Connection]:
    """A Core connection in a transaction that only reads (as `db.read_only`'s sessions): on
    SQLite it takes no write lock, so it neither waits for a writer nor holds one up."""
    with outages(), engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


@contextmanager
def outages() -> Iterator[None]:
    """A locked, unreachable or lost database as `DatabaseUnavailableError`."""
    try:
        yield
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"database unavailable: {_first_line(exc)}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailableError(f"database connection lost: {_first_line(exc)}") from exc
        raise


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0] if str(exc) else type(exc).__name__


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("mailbot") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> str | None:
    """Apply every pending migration; returns the revision the database is now at. A database
    already at the newest migration is left without loading Alembic: the daemon does this at
    every start and reload, and Alembic with its templates stayed in its memory (~10 MB)."""
    head = head_revision(engine)
    if head is not None and current_revision(engine) == head:
        return head
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), "head")
    except OperationalError as exc:
        raise DatabaseUnavailableError(f"database unavailable: {_first_line(exc)}") from exc
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    """The revision in `alembic_version` (None before the first upgrade), as Alembic reads it."""
    with engine.connect() as conn:
        if sa.inspect(conn).has_table(_VERSION_TABLE):
            rows = conn.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).all()
            if len(rows) <= 1:
                return rows[0][0] if rows else None
        else:
            return None
        from alembic.runtime.migration import MigrationContext  # several: Alembic's own error

        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest migration: the one no other revises, read from the files' `revision` and
    `down_revision` lines. Anything but one line of migrations (branches, a line not read) is
    left to Alembic, which loads every migration to answer."""
    revises: dict[str, str | None] = {}
    files = list((resources.files("mailbot") / "migrations" / "versions").iterdir())
    for path in (p for p in files if p.name.endswith(".py")):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "" in found and "down_" in found:
            revises[found[""]] = None if found["down_"] == "None" else found["down_"]
    heads = set(revises) - set(revises.values())
    if len(heads) == 1 and len(revises) == sum(p.name.endswith(".py") for p in files):
        return heads.pop()
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


_VERSION_TABLE = "alembic_version"
_REVISION_LINE = re.compile(
    r"^(down_|)revision(?:\s*:[^=\n]*)?\s*=\s*['\"]?([\w-]+)['\"]?\s*$", re.MULTILINE
)
