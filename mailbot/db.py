"""Sessions over the engine (`mailbot.engine`): one unit of work per message, read-only
sessions, the audit trail written with the transaction, and schema migrations (Alembic).
The engine, the outage handling and the revision check live in `mailbot.engine`, which
needs no ORM; they are named here too, as the callers have always used them.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from mailbot.engine import (
    READ_ONLY,
    SQLITE_BUSY_SECONDS,
    _alembic_config,
    current_revision,
    head_revision,
    make_engine,
    outages,
    upgrade,
)
from mailbot.models import Event, utcnow

__all__ = [
    "SQLITE_BUSY_SECONDS",
    "_alembic_config",
    "current_revision",
    "head_revision",
    "make_engine",
    "read_only",
    "record_event",
    "savepoint",
    "unit_of_work",
    "upgrade",
]


@contextmanager
def read_only(engine: Engine) -> Iterator[Session]:
    """A transaction that only reads. On SQLite it does not take the write lock (every other
    transaction does, from its start), so it neither waits for a writer nor holds one up."""
    with outages(), engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with Session(bind=connection) as session:
            yield session


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    with outages(), Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A part of the transaction that can fail alone (one message of a group): if the block
    raises, its rows and the audit events it recorded are taken back, and the exception goes on."""
    root = session.get_transaction()
    pending = _events_of(session, root)
    kept = len(pending) if pending is not None else 0
    try:
        with session.begin_nested():
            yield
            # Flushed here, inside the savepoint: a failing flush is then the block's failure
            # (rolled back with it) and not the release's, after the events were written.
            session.flush()
    except BaseException:
        pending = _events_of(session, root)
        if pending is not None:
            del pending[kept:]
        raise


def record_event(
    session: Session,
    kind: str,
    *,
    work_order_id: int | None = None,
    inbound_id: int | None = None,
    actor: str = "mailbot",
    **data: Any,
) -> None:
    """Append to the audit trail, in the caller's transaction. The rows are written together
    when it commits, in one INSERT (four a case: one round trip to PostgreSQL instead of four);
    nothing reads the trail in the transaction that writes it. A savepoint's release writes
    them too (SQLAlchemy runs `before_commit` for it); a `savepoint` rolled back takes back the
    events recorded inside it (a bare `begin_nested` does not)."""
    row: dict[str, object] = {
        "at": utcnow(),
        "kind": kind,
        "actor": actor,
        "work_order_id": work_order_id,
        "inbound_id": inbound_id,
        "data": json.dumps(data, default=str, ensure_ascii=False, sort_keys=True),
    }
    root = session.get_transaction()
    if root is None:  # no transaction yet to wait for: written now
        session.execute(_INSERT_EVENT, row)
        return
    pending = _events_of(session, root)
    if pending is None:  # rows of a rolled-back transaction go
        pending = []
        session.info[_PENDING_EVENTS] = (weakref.ref(root), pending)
    pending.append(row)


_PENDING_EVENTS = "mailbot.pending_events"


def _events_of(session: Session | OrmSession, root: object) -> list[dict[str, object]] | None:
    """The events waiting for the transaction `root`. It is named by a weak reference: the
    session holding its own transaction would be a cycle, and every message's session (with
    the parsed mail it filed) would wait for the cyclic collector instead of going at once."""
    pending = session.info.get(_PENDING_EVENTS)
    if pending is None or root is None or pending[0]() is not root:
        return None
    events: list[dict[str, object]] = pending[1]
    return events


@event.listens_for(OrmSession, "before_commit")
def _write_events(session: OrmSession) -> None:
    write_events(session)


def write_events(session: Session | OrmSession) -> None:
    """Write the audit events recorded so far in this transaction, as its commit (or a
    savepoint's release) would: what a message of a group recorded, the next one reads."""
    pending = _events_of(session, session.get_transaction())
    if not pending:
        return
    rows = list(pending)
    pending.clear()
    session.execute(_INSERT_EVENT, rows)


_INSERT_EVENT = sa.insert(Event.__table__)  # type: ignore[attr-defined]
