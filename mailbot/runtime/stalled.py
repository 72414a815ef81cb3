"""Lease holders that can no longer hold: a process of this host that is gone, and, on
PostgreSQL, a stalled holder's database session that keeps the lease row locked.

A holder paused mid-message (a stalled VM, SIGSTOP) keeps its transaction, and with it the
`FOR UPDATE` lock of the fence on the lease row. The server ends a session idle inside a
transaction after `database.lease_seconds` (`engine.make_engine`), but not one it is still
sending a result to: paused while it reads, the holder leaves its session "active" in
`ClientWrite` for as long as it sleeps, and the instance taking over would wait on the row for
as long. So a takeover waits at most a third of the lease for the row; when the lease has
expired and the row is still locked, the sessions of the old holder's process (its
`application_name`) whose transaction is older than a lease are ended, and the next attempt
takes the mailbox. Their transactions roll back: the fence still guarantees the two never act
on one mailbox at once.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailbot.db import record_event, unit_of_work
from mailbot.engine import application_name
from mailbot.log import get_logger
from mailbot.models import MailboxLease

log = get_logger(__name__)

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout

_END_SESSIONS = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE application_name = :name AND pid <> pg_backend_pid() AND state <> 'idle'"
    " AND xact_start < now() - make_interval(secs => :seconds)"
)


def gone(holder: str) -> bool:
    """A holder of this host whose process no longer exists."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def wait_at_most(session: Session, seconds: float) -> None:
    """PostgreSQL: this transaction waits at most `seconds` for a lock, then fails."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {max(int(seconds * 1000), 100)}"))


def lock_timed_out(exc: BaseException) -> bool:
    """The error `wait_at_most` ends a wait with (as raised through `db.outages`)."""
    cause = exc.__cause__
    return getattr(getattr(cause, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


def end_stalled(engine: Engine, mailbox: str, now: datetime, lease_seconds: float) -> int:
    """The lease is expired and its row still locked: end the old holder's sessions that sit in
    a transaction older than a lease. How many were ended."""
    with unit_of_work(engine) as session:
        lease = session.get(MailboxLease, mailbox)  # a plain read: no wait for the lock
        if lease is None or lease.expires_at >= now or not lease.holder:
            return 0
        host, _, rest = lease.holder.partition(":")
        name = application_name(host, rest.partition(":")[0])
        ended = [
            row[0]
            for row in session.execute(_END_SESSIONS, {"name": name, "seconds": lease_seconds})
        ]
        if ended:
            record_event(
                session, "lease.stalled_session_ended", mailbox=mailbox, previous=lease.holder,
                sessions=len(ended),
            )  # fmt: skip
    log.warning("stalled lease holder", mailbox=mailbox, sessions_ended=len(ended))
    return len(ended)
