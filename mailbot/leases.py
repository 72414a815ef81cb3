"""Which `mailbot run` instance watches which mailbox, when several share one database.

A lease row per mailbox names its holder and an expiry. The holder renews it every third of
`database.lease_seconds`; an instance that dies stops renewing, and after the expiry any other
instance's next attempt (every `RETRY_SECONDS`) takes the mailbox over: within
`lease_seconds + RETRY_SECONDS` (20 s by default, the brief asks for 30).

A lease alone cannot stop a holder that was paused past its expiry (a stalled VM, a long GC)
from acting on the message in hand while the new holder starts. So every message's transaction
is fenced: `fence` locks the lease row (`FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
already serialises writers) and refuses to go on unless this instance still holds it. A takeover
waits for the old holder's transaction to end, and the old holder's next one sees it has lost:
the two never act on the same mailbox at once, and the cursor each reads is the other's last.

A holder on this same host whose process is gone (a crash, `kill -9`, systemd restarting us) is
taken over at once rather than after its expiry.

Expiry uses the instances' clocks (NTP-synchronised servers are assumed; a skew of a few
seconds only shortens or lengthens the takeover by as much).

Chosen over PostgreSQL advisory locks: the same code runs on SQLite, the state is visible to
admins (`mailbot status`), and a lock tied to a pooled connection would be lost silently with
the connection while the instance carried on.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Update, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.db import record_event, unit_of_work
from mailbot.errors import TransientError
from mailbot.log import get_logger
from mailbot.models import MailboxLease, utcnow

log = get_logger(__name__)

RETRY_SECONDS = 5.0


class LeaseLostError(TransientError):
    """Another instance holds the mailbox now: stop acting on it, try to win it back later."""


def instance_name() -> str:
    """host:pid:random, unique per process and readable in `mailbot status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _gone(holder: str) -> bool:
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


@dataclass
class Leases:
    engine: Engine
    seconds: float
    holder: str = field(default_factory=instance_name)

    @property
    def renew_every(self) -> float:
        return self.seconds / 3

    def acquire(self, mailbox: str, now: datetime | None = None) -> bool:
        """Take or keep the mailbox's lease; False while another live instance holds it."""
        now = now or utcnow()
        expires = now + timedelta(seconds=self.seconds)
        with unit_of_work(self.engine) as session:
            taken = _changed(
                session,
                update(MailboxLease)
                .where(col(MailboxLease.mailbox) == mailbox)
                .where(
                    (col(MailboxLease.holder) == self.holder) | (col(MailboxLease.expires_at) < now)
                )
                .values(holder=self.holder, acquired_at=now, expires_at=expires),
            )
            if taken:
                return True
            existing = session.get(MailboxLease, mailbox)
            if existing is not None:
                if not _gone(existing.holder):
                    return False
                previous = existing.holder
                existing.holder, existing.acquired_at, existing.expires_at = (
                    self.holder,
                    now,
                    expires,
                )
                record_event(
                    session, "lease.taken_over", mailbox=mailbox, holder=self.holder,
                    previous=previous,
                )  # fmt: skip
                return True
            try:
                with session.begin_nested():
                    session.add(
                        MailboxLease(
                            mailbox=mailbox, holder=self.holder, acquired_at=now, expires_at=expires
                        )
                    )
            except IntegrityError:  # another instance created it first
                return False
            record_event(session, "lease.created", mailbox=mailbox, holder=self.holder)
            return True

    def renew(self, mailbox: str, now: datetime | None = None) -> bool:
        """Push the expiry on; False when the lease has been taken over meanwhile."""
        now = now or utcnow()
        with unit_of_work(self.engine) as session:
            return _changed(
                session,
                update(MailboxLease)
                .where(col(MailboxLease.mailbox) == mailbox)
                .where(col(MailboxLease.holder) == self.holder)
                .values(expires_at=now + timedelta(seconds=self.seconds)),
            )

    def release(self, mailbox: str) -> None:
        """Hand the mailbox back at a clean stop: another instance need not wait for expiry."""
        with unit_of_work(self.engine) as session:
            session.execute(
                update(MailboxLease)
                .where(col(MailboxLease.mailbox) == mailbox)
                .where(col(MailboxLease.holder) == self.holder)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    def fence(self, session: Session, mailbox: str) -> None:
        """In a message's transaction: go on only while this instance holds the mailbox."""
        row = session.exec(
            select(MailboxLease.holder)
            .where(col(MailboxLease.mailbox) == mailbox)
            .with_for_update()
        ).first()
        if row != self.holder:
            raise LeaseLostError(f"mailbox {mailbox}: now watched by another instance ({row})")


class Keeper:
    """Holds this instance's leases: acquires, renews them from a background thread, and tells
    a mailbox's loop (its `halt` event) when its lease was lost."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
        self._held: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="leases", daemon=True)

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for mailbox in list(self._held):
            self.drop(mailbox)

    def hold(self, mailbox: str, halt: threading.Event) -> bool:
        """True once this instance holds the mailbox; `halt` is set if it loses it."""
        with self._lock:
            if mailbox in self._held:
                return True
        if not self.leases.acquire(mailbox):
            return False
        with self._lock:
            self._held[mailbox] = halt
        log.info("mailbox lease acquired", mailbox=mailbox, holder=self.leases.holder)
        return True

    def holds(self, mailbox: str) -> bool:
        with self._lock:
            return mailbox in self._held

    def lost(self, mailbox: str) -> None:
        """The mailbox's loop found out first (a fenced transaction refused)."""
        with self._lock:
            self._held.pop(mailbox, None)

    def drop(self, mailbox: str) -> None:
        with self._lock:
            halt = self._held.pop(mailbox, None)
        if halt is not None:
            try:
                self.leases.release(mailbox)
            except TransientError as exc:  # it expires by itself
                log.warning("mailbox lease not released", mailbox=mailbox, error=str(exc))

    def fence(self, mailbox: str) -> Callable[[Session], None]:
        return lambda session: self.leases.fence(session, mailbox)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.leases.renew_every):
            with self._lock:
                held = list(self._held.items())
            for mailbox, halt in held:
                try:
                    kept = self.leases.renew(mailbox)
                except TransientError as exc:  # the database is away: nobody can take it
                    log.warning("mailbox lease not renewed", mailbox=mailbox, error=str(exc))
                    continue
                if not kept:
                    self.lost(mailbox)
                    halt.set()
                    log.warning("mailbox lease lost", mailbox=mailbox)


def _changed(session: Session, statement: Update) -> bool:
    result = cast(CursorResult[Any], session.execute(statement))
    return bool(result.rowcount)


def current(session: Session) -> list[MailboxLease]:
    """Every lease, for `mailbot status`."""
    return list(session.exec(select(MailboxLease).order_by(col(MailboxLease.mailbox))))
