"""Which `mailbot run` instance watches which mailbox, when several share one database.

A lease row per mailbox names its holder and an expiry. The holder renews it every third of
`database.lease_seconds`; an instance that dies stops renewing, and after the expiry any other
instance's next attempt (every `RETRY_SECONDS`) takes the mailbox over: within
`lease_seconds + RETRY_SECONDS` (20 s by default, the brief asks for 30).

A lease alone cannot stop a holder that was paused past its expiry (a stalled VM, a long GC)
from acting on the messages in hand while the new holder starts. So every filing transaction (a
group of messages) is fenced: `fence` locks the lease row (`FOR UPDATE` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` already serialises writers) and refuses to go on unless this instance still
holds it. A takeover waits for the old holder's transaction to end, and the old holder's next
one sees it has lost: the two never act on the same mailbox at once, and the cursor each reads
is the other's last.

Instances share the work: each records itself alive in `mailbot_instance` with every renewal,
takes no more than its fair share of the mailboxes (all of them divided by the live instances,
rounded up) and hands back what it holds beyond that share, so a second instance started next
to a busy one gets mailboxes of its own within a renewal or two.

A holder on this same host whose process is gone (a crash, `kill -9`, systemd restarting us) is
taken over at once rather than after its expiry; a stalled holder's session that keeps the lease
row locked is ended (`stalled.py`).

Expiry uses the instances' clocks (NTP-synchronised servers are assumed; a skew of a few
seconds only shortens or lengthens the takeover by as much).

Chosen over PostgreSQL advisory locks: the same code runs on SQLite, the state is visible to
admins (the `mailbox_lease` and `mailbot_instance` tables), and a lock tied to a pooled
connection would be lost silently with the connection while the instance carried on.
"""

from __future__ import annotations

import contextlib
import math
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
from mailbot.errors import DatabaseUnavailableError, TransientError
from mailbot.log import get_logger
from mailbot.models import MailbotInstance, MailboxLease, utcnow
from mailbot.runtime.stalled import end_stalled, gone, lock_timed_out, wait_at_most

log = get_logger(__name__)

RETRY_SECONDS = 5.0


class LeaseLostError(TransientError):
    """Another instance holds the mailbox now: stop acting on it, try to win it back later."""


def instance_name() -> str:
    """host:pid:random, unique per process and readable in the lease table."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


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
        try:
            return self._acquire(mailbox, now)
        except DatabaseUnavailableError as exc:
            if not lock_timed_out(exc):
                raise
        end_stalled(self.engine, mailbox, now, self.seconds)  # the next attempt takes it
        return False

    def _acquire(self, mailbox: str, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.seconds)
        with unit_of_work(self.engine) as session:
            wait_at_most(session, self.renew_every)  # a stalled holder may keep the row locked
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
                if not gone(existing.holder):
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
        """Hand the mailbox back (a clean stop, balancing): another instance need not wait for
        the expiry, and this one's next fenced transaction on it is refused."""
        with unit_of_work(self.engine) as session:
            session.execute(
                update(MailboxLease)
                .where(col(MailboxLease.mailbox) == mailbox)
                .where(col(MailboxLease.holder) == self.holder)
                .values(holder="", expires_at=utcnow() - timedelta(seconds=1))
            )

    def beat(self, now: datetime | None = None) -> None:
        """This instance is alive."""
        now = now or utcnow()
        with unit_of_work(self.engine) as session:
            seen = _changed(
                session,
                update(MailbotInstance)
                .where(col(MailbotInstance.holder) == self.holder)
                .values(seen_at=now),
            )
            if not seen:
                session.add(MailbotInstance(holder=self.holder, started_at=now, seen_at=now))
            stale = now - timedelta(seconds=10 * self.seconds)  # long gone: tidy up
            for row in session.exec(
                select(MailbotInstance).where(col(MailbotInstance.seen_at) < stale)
            ):
                session.delete(row)

    def leave(self) -> None:
        with unit_of_work(self.engine) as session:
            row = session.get(MailbotInstance, self.holder)
            if row is not None:
                session.delete(row)

    def fair_share(self, mailboxes: int, now: datetime | None = None) -> int:
        """How many mailboxes this instance should hold with the instances alive now."""
        since = (now or utcnow()) - timedelta(seconds=self.seconds)
        with unit_of_work(self.engine) as session:
            alive = session.exec(
                select(MailbotInstance.holder).where(col(MailbotInstance.seen_at) >= since)
            ).all()
        others = len(set(alive) - {self.holder})
        return math.ceil(mailboxes / (others + 1))

    def fence(self, session: Session, mailbox: str) -> None:
        """First in a group's transaction: go on only while this instance holds the mailbox (the
        row stays locked until the commit, so the lease cannot move during the group)."""
        row = session.exec(
            select(MailboxLease.holder)
            .where(col(MailboxLease.mailbox) == mailbox)
            .with_for_update()
        ).first()
        if row != self.holder:
            raise LeaseLostError(f"mailbox {mailbox}: now watched by another instance ({row})")


class Keeper:
    """Holds this instance's leases: acquires up to its fair share of `mailboxes`, renews them
    from a background thread, hands back any beyond the share, and tells a mailbox's loop (its
    `halt` event) when its lease was lost or handed back."""

    def __init__(self, leases: Leases, mailboxes: int) -> None:
        self.leases = leases
        self.mailboxes = mailboxes
        self._held: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="leases", daemon=True)

    def __enter__(self) -> Keeper:
        self.leases.beat()  # counted by the others before taking anything
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for mailbox in list(self._held):
            self.drop(mailbox)
        with contextlib.suppress(TransientError):  # else seen as gone after lease_seconds
            self.leases.leave()

    def hold(self, mailbox: str, halt: threading.Event) -> bool:
        """True once this instance holds the mailbox; `halt` is set if it loses it. Refused
        while the instance already holds its fair share."""
        with self._lock:
            if mailbox in self._held:
                return True
            held = len(self._held)
        if held >= self.leases.fair_share(self.mailboxes):
            return False
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
            try:
                self.leases.beat()
                share = self.leases.fair_share(self.mailboxes)
            except TransientError as exc:
                log.warning("instance heartbeat failed", error=str(exc))
                share = self.mailboxes
            with self._lock:
                held = list(self._held.items())
            for mailbox, halt in held[share:]:  # the newest beyond the share go back
                halt.set()
                self.drop(mailbox)
                log.info("mailbox handed over", mailbox=mailbox, reason="balancing")
            for mailbox, halt in held[:share]:
                try:
                    kept = self.leases.renew(mailbox)
                except TransientError as exc:  # the database is away: nobody can take it
                    log.warning("mailbox lease not renewed", mailbox=mailbox, error=str(exc))
                    continue
                if not kept and self.holds(mailbox):  # not dropped meanwhile
                    self.lost(mailbox)
                    halt.set()
                    log.warning("mailbox lease lost", mailbox=mailbox)


def _changed(session: Session, statement: Update) -> bool:
    result = cast(CursorResult[Any], session.execute(statement))
    return bool(result.rowcount)


def current(session: Session) -> list[MailboxLease]:
    """Every lease, for an admin view (a `mailbot status` command is still to come)."""
    return list(session.exec(select(MailboxLease).order_by(col(MailboxLease.mailbox))))
