"""The drain files messages fetched together in one transaction: a poison message costs only
its own savepoint, an outage takes back the whole group, and nothing outside the database (the
source, the metrics, the report) hears of a message before its group committed. A group is
first filed without savepoints; only when a message of it fails is it filed again with them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from mailbot.cases import workorders
from mailbot.errors import DatabaseUnavailableError
from mailbot.ingest import ledger
from mailbot.models import Event, InboundMessage, MailboxCursor, WorkOrder
from mailbot.runtime import drain as drain_module
from mailbot.runtime.drain import drain
from mailbot.types import LedgerStatus, Origin

from support.app import complaint, counts, fixture_bytes, rows

MAILBOX = "suggerimenti"
RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ListSource:
    """An IMAP-like mailbox in memory (UIDVALIDITY 7, UIDs from 1) that notes, each time it is
    told a message was processed, what a separate connection then reads as committed."""

    name = MAILBOX
    supports_idle = True

    def __init__(self, services, messages: list[bytes]) -> None:
        self.engine = services.engine
        self.messages = messages
        self.told: list[tuple[int, bool, int | None]] = []  # uid, its row committed, cursor

    def fetch(self, cursor: MailboxCursor | None) -> Iterator[tuple[Origin, bytes]]:
        last = cursor.last_uid if cursor else 0
        for uid, raw in enumerate(self.messages, 1):
            if uid > last:
                yield Origin(MAILBOX, RECEIVED, uidvalidity=7, uid=uid), raw

    def processed(self, origin: Origin) -> None:
        self.told.append((origin.uid or 0, *committed(self.engine, origin.uid or 0)))


def committed(engine, uid: int) -> tuple[bool, int | None]:
    """Whether the ledger row of `uid` is committed, and the committed cursor: read on a
    connection of its own, which cannot see an open transaction's rows."""
    with Session(engine) as session:
        row = session.exec(select(InboundMessage).where(InboundMessage.uid == uid)).first()
        cursor = session.get(MailboxCursor, MAILBOX)
        return row is not None, cursor.last_uid if cursor else None


class Fences:
    """A fence that counts the transactions it was run in."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, _session: Session) -> None:
        self.calls += 1


def cursor_of(services) -> int | None:
    with Session(services.engine) as session:
        cursor = session.get(MailboxCursor, MAILBOX)
        return cursor.last_uid if cursor else None


def event_kinds(services) -> list[str]:
    with Session(services.engine) as session:
        return [e.kind for e in session.exec(select(Event).order_by(Event.id))]


def poisoned(subject: str, error: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening the case of the mail with `subject` raises `error`, after the case number was
    taken and the case's first rows written."""
    original = workorders.open_work_order

    def open_work_order(session, **kwargs):
        work_order = original(session, **kwargs)
        if work_order.subject == subject:
            raise error
        return work_order

    monkeypatch.setattr(workorders, "open_work_order", open_work_order)


def test_a_poison_message_in_a_group_is_quarantined_and_the_others_filed(services, monkeypatch):
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)  # grouped by count alone
    poisoned("Reclamo 3", RuntimeError("matcher bug"), monkeypatch)
    messages = [complaint(1), complaint(2), complaint(3), fixture_bytes("malformed_no_from.eml")]
    messages.append(complaint(5))
    source, fence = ListSource(services, messages), Fences()

    report = drain(services, source, fence=fence)

    # The five without savepoints, taken back at the poison; then the five again, one savepoint
    # each: one transaction committed.
    assert fence.calls == 2
    assert report.counts == {"filed": 3, "quarantined": 1, "rejected": 1}
    by_uid = {row.uid: row for row in rows(services, InboundMessage)}
    assert by_uid[3].status == LedgerStatus.QUARANTINED
    assert by_uid[3].reason == "RuntimeError: matcher bug"
    assert "Traceback" in (by_uid[3].error_detail or "")
    assert by_uid[4].status == LedgerStatus.REJECTED
    assert [by_uid[uid].status for uid in (1, 2, 5)] == [LedgerStatus.FILED] * 3
    # the poison's savepoint took back its case, its number and its audit events
    numbers = sorted(w.number for w in rows(services, WorkOrder))
    assert numbers == ["2026/000001", "2026/000002", "2026/000003"]
    assert event_kinds(services).count("work_order.opened") == 3
    assert "inbound.quarantined" in event_kinds(services)
    assert cursor_of(services) == 5


def test_an_outage_in_a_group_commits_nothing_and_the_next_drain_files_all(services, monkeypatch):
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    poisoned("Reclamo 3", DatabaseUnavailableError("database unavailable: I/O"), monkeypatch)
    source = ListSource(services, [complaint(n) for n in range(1, 6)])
    with pytest.raises(DatabaseUnavailableError):
        drain(services, source)
    assert counts(services) == (0, 0, 0)
    assert cursor_of(services) is None
    assert event_kinds(services) == []
    assert source.told == []  # the source never heard of messages 1 and 2

    monkeypatch.undo()
    report = drain(services, source)
    assert report.counts == {"filed": 5}
    assert sorted(w.number for w in rows(services, WorkOrder)) == [
        f"2026/{n:06d}" for n in range(1, 6)
    ]
    assert cursor_of(services) == 5


def test_a_database_error_inside_a_message_is_an_outage_not_a_quarantine(services, monkeypatch):
    """A deadlock or a lock timeout in the middle of a message (PostgreSQL between two
    instances) is retried like any outage: the group takes nothing back as the message's fault."""
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    deadlock = sa.exc.OperationalError("UPDATE", {}, Exception("deadlock detected"))
    poisoned("Reclamo 2", deadlock, monkeypatch)
    source = ListSource(services, [complaint(n) for n in range(1, 4)])
    with pytest.raises(DatabaseUnavailableError, match="deadlock"):
        drain(services, source)
    assert counts(services) == (0, 0, 0)
    assert not [r for r in rows(services, InboundMessage) if r.status == "quarantined"]
    monkeypatch.undo()
    assert drain(services, source).counts == {"filed": 3}


def test_the_cursor_and_the_source_hear_of_a_group_only_after_its_commit(services, monkeypatch):
    monkeypatch.setattr(drain_module, "GROUP_MESSAGES", 3)
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    advanced: list[int | None] = []
    advance = ledger.advance_cursor
    monkeypatch.setattr(
        ledger, "advance_cursor", lambda s, o: (advanced.append(o.uid), advance(s, o))[1]
    )
    observed: list[tuple[int, bool]] = []

    def observe(mailbox, outcome, seconds):
        assert mailbox == MAILBOX and seconds > 0
        with Session(services.engine) as session:
            entry = session.get(InboundMessage, outcome.inbound_id)
            observed.append((outcome.inbound_id, entry is not None))

    source, fence = ListSource(services, [complaint(n) for n in range(1, 8)]), Fences()
    report = drain(services, source, fence=fence, observe=observe)

    assert report.total == 7
    assert fence.calls == 3  # groups of 3, 3 and 1
    assert advanced == [3, 6, 7]  # once a group, at its end
    # each message told to the source after its row and the group's cursor were committed
    cursor_after = {1: 3, 2: 3, 3: 3, 4: 6, 5: 6, 6: 6, 7: 7}
    assert source.told == [(uid, True, cursor_after[uid]) for uid in range(1, 8)]
    assert [seen for _, seen in observed] == [True] * 7


def test_a_message_alone_is_a_group_of_one_committed_at_once(services):
    source, fence = ListSource(services, [complaint(1)]), Fences()
    assert drain(services, source, fence=fence).counts == {"filed": 1}
    assert fence.calls == 1
    assert source.told == [(1, True, 1)]

    source.messages.append(complaint(2))  # new mail while in IDLE
    assert drain(services, source, fence=fence).counts == {"filed": 1}
    assert fence.calls == 2
    assert source.told[-1] == (2, True, 2)


def test_a_group_whose_transaction_fails_files_each_message_alone(services, monkeypatch):
    """A failure that is not any one message's (its savepoint would have caught it): each is
    filed again in a transaction of its own, rather than the group given up or quarantined."""
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    advance = ledger.advance_cursor
    calls: list[int | None] = []

    def advance_cursor(session, origin):
        calls.append(origin.uid)
        if len(calls) <= 2:
            raise RuntimeError("cursor table bug")
        advance(session, origin)

    monkeypatch.setattr(ledger, "advance_cursor", advance_cursor)
    fence = Fences()
    report = drain(services, ListSource(services, [complaint(n) for n in (1, 2, 3)]), fence=fence)
    # The group's without savepoints and with them, then each message's own.
    assert calls == [3, 3, 1, 2, 3]
    assert fence.calls == 5
    assert report.counts == {"filed": 3}
    assert sorted(w.number for w in rows(services, WorkOrder)) == [
        f"2026/{n:06d}" for n in range(1, 4)
    ]
    assert event_kinds(services).count("work_order.opened") == 3
    assert cursor_of(services) == 3


def test_a_group_that_files_cleanly_takes_no_savepoint(services, monkeypatch):
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    source = ListSource(services, [complaint(1)])
    drain(services, source)  # the year's counter row exists (its creation takes a savepoint)
    source.messages.extend(complaint(n) for n in (2, 3, 4))
    sa.event.listen(services.engine, "before_cursor_execute", note)
    try:
        fence = Fences()
        assert drain(services, source, fence=fence).counts == {"filed": 3}
    finally:
        sa.event.remove(services.engine, "before_cursor_execute", note)
    assert fence.calls == 1
    assert "INSERT" in statements
    assert "SAVEPOINT" not in statements
    assert [w.number for w in rows(services, WorkOrder)] == [f"2026/{n:06d}" for n in range(1, 5)]
    assert event_kinds(services).count("work_order.opened") == 4


def test_each_message_of_a_group_reads_what_the_ones_before_it_recorded(services, monkeypatch):
    """Without savepoints too, a message sees the earlier messages' rows and audit events (a
    second "#approva" to one request is told it was decided by the first, review 43)."""
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    original = workorders.open_work_order
    seen: list[int] = []

    def open_work_order(session, **kwargs):
        opened = session.exec(select(Event).where(Event.kind == "work_order.opened")).all()
        seen.append(len(opened))
        return original(session, **kwargs)

    monkeypatch.setattr(workorders, "open_work_order", open_work_order)
    fence = Fences()
    report = drain(services, ListSource(services, [complaint(n) for n in (1, 2, 3)]), fence=fence)
    assert report.counts == {"filed": 3}
    assert fence.calls == 1
    assert seen == [0, 1, 2]


def test_a_group_is_bounded_in_time_as_well(services, monkeypatch):
    """Past `GROUP_SECONDS` of work the group is committed, however few it holds: the sender
    process and the web form get SQLite's write lock between two groups."""
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 0.0)
    fence = Fences()
    report = drain(services, ListSource(services, [complaint(n) for n in (1, 2, 3)]), fence=fence)
    assert report.counts == {"filed": 3}
    assert fence.calls == 3


def test_a_group_is_bounded_in_bytes_as_well(services, monkeypatch):
    """Its messages are held parsed until the commit: a few large ones make a group."""
    monkeypatch.setattr(drain_module, "GROUP_SECONDS", 60.0)
    messages = [complaint(n) for n in (1, 2, 3, 4, 5)]
    monkeypatch.setattr(drain_module, "GROUP_BYTES", len(messages[0]) * 2)
    fence = Fences()
    assert drain(services, ListSource(services, messages), fence=fence).counts == {"filed": 5}
    assert fence.calls == 3  # 2, 2 and 1


def test_a_filed_group_leaves_nothing_for_the_cyclic_collector(services):
    """Each message's session, its pending entry and the parsed mail go as soon as the group
    is filed. A cycle through them (the session naming its own transaction for the audit
    events, the entry's `act` naming the entry) kept every parsed mail until the collector's
    next full pass: the daemon grew by ~100 MB over a 3,000-message backlog."""
    import gc

    source = ListSource(services, [complaint(1)])
    drain(services, source)  # the first one builds SQLAlchemy's caches
    source.messages.extend(complaint(n) for n in range(2, 8))
    source.messages.append(fixture_bytes("citizen_with_attachment.eml"))
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert drain(services, source).counts == {"filed": 7}  # one group
        gc.collect()
        left = {type(o).__qualname__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not left & {"ParsedMessage", "Pending", "Session", "SessionTransaction", "Connection"}
