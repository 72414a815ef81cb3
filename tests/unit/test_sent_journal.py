"""The sent journal (replies/sent_journal.py): on SQLite a mail the relay accepted is noted in
the sender's own file and marked in the database with its next write transaction; the journal
of a sender that died is folded by the next one, a live sender's is left alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from mailbot.db import unit_of_work
from mailbot.engine import READ_ONLY
from mailbot.models import Event, OutboundMessage, utcnow
from mailbot.replies import outbox
from mailbot.replies.delivery import deliver_pending
from mailbot.replies.sender import Router
from mailbot.replies.sent_journal import SentJournal, fold_left_behind, read_marks

from support.app import complaint, rows

ACCEPTED = datetime(2026, 3, 11, 8, 30, 15, 123456, tzinfo=UTC)


class Relay:
    """Accepts everything and remembers each mail's recipients."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def send(self, envelope_from, recipients, raw) -> None:
        self.sent.extend(recipients)


def queued(services, process, complaints: int) -> list[OutboundMessage]:
    for n in range(complaints):
        process(complaint(n))  # a confirmation and the office's notification each
    return rows(services, OutboundMessage)


def journals(services) -> list[Path]:
    database = Path(services.engine.url.database)
    return [p for p in database.parent.iterdir() if p.name.startswith(database.name + ".sent-")]


def sent_events(services) -> list[Event]:
    return [e for e in rows(services, Event) if e.kind == "outbound.sent"]


def count_write_transactions(services, run) -> int:
    """How many transactions that may write `run()` began (it must return True)."""
    writes: list[object] = []

    def began(conn) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            writes.append(conn)

    event.listen(services.engine, "begin", began)
    try:
        assert run()
    finally:
        event.remove(services.engine, "begin", began)
    return len(writes)


def deliver(services, relay: Relay, journal: SentJournal | None = None):
    router = Router({"": relay})
    return asyncio.run(deliver_pending(services.engine, services.settings, router, journal=journal))


@pytest.mark.embedded  # the journal is SQLite's
def test_a_journaled_mail_is_marked_by_the_next_write_transaction_as_mark_sent_would(
    services, process
):
    first, _second = queued(services, process, 1)
    journal = SentJournal.for_engine(services.engine)
    assert journal is not None
    journal.append(first.id, ACCEPTED)
    [path] = journals(services)
    assert path.read_text() == f"{first.id} {ACCEPTED.isoformat()}\n"  # on disk at once
    assert [o.status for o in rows(services, OutboundMessage)] == ["pending", "pending"]
    with journal.writing(services.engine):
        pass
    marked, untouched = rows(services, OutboundMessage)
    assert (marked.status, marked.sent_at, marked.attempts, marked.last_error) == (
        "sent",
        ACCEPTED,
        1,
        None,
    )
    assert (untouched.status, untouched.attempts) == ("pending", 0)
    [sent] = sent_events(services)
    assert sent.data and first.message_id in sent.data
    assert path.read_bytes() == b"" and journal.unfolded == frozenset()
    with journal.writing(services.engine):  # nothing left to fold: nothing marked twice
        pass
    assert len(sent_events(services)) == 1 and rows(services, OutboundMessage)[0].attempts == 1
    journal.close()
    assert journals(services) == []  # empty: deleted with its sender


@pytest.mark.embedded  # the journal is SQLite's
def test_folding_marks_only_rows_still_pending(services, process):
    first, second = queued(services, process, 1)
    with unit_of_work(services.engine) as session:
        outbox.mark_failed(session, session.get(OutboundMessage, second.id), "550 no such user")
        assert outbox.mark_journaled(session, {first.id: ACCEPTED, second.id: ACCEPTED}) == 1
    assert [o.status for o in rows(services, OutboundMessage)] == ["sent", "failed"]
    assert len(sent_events(services)) == 1


def test_a_torn_last_line_and_an_unreadable_one_are_skipped(tmp_path):
    path = tmp_path / "j"
    path.write_bytes(
        f"7 {ACCEPTED.isoformat()}\ngarbage\n8 2026-03-11T08:30:15\n9 {ACCEPTED.isoformat()}\n"
        "10 2026-03-11T08:3".encode()
    )
    with path.open("rb") as f:
        assert read_marks(f.fileno()) == {7: ACCEPTED, 9: ACCEPTED}  # 8: a naive time, refused


@pytest.mark.embedded  # the journal is SQLite's
def test_a_dead_senders_journal_is_folded_and_deleted_torn_line_and_all(services, process):
    first, second, third, _ = queued(services, process, 2)
    database = Path(services.engine.url.database)
    dead = database.with_name(f"{database.name}.sent-999999-dead")
    later = ACCEPTED + timedelta(seconds=1)
    dead.write_text(
        f"{first.id} {ACCEPTED.isoformat()}\n{second.id} {later.isoformat()}\n{third.id} 2026-0"
    )
    fold_left_behind(services.settings.database.url)
    statuses = [(o.status, o.sent_at) for o in rows(services, OutboundMessage)]
    assert statuses == [("sent", ACCEPTED), ("sent", later), ("pending", None), ("pending", None)]
    assert not dead.exists()


@pytest.mark.embedded  # the journal is SQLite's
def test_a_live_senders_journal_is_left_alone_until_it_lets_go(services, process):
    first, *_ = queued(services, process, 1)
    live = SentJournal.for_engine(services.engine)
    other = SentJournal.for_engine(services.engine)
    assert live is not None and other is not None
    live.append(first.id, ACCEPTED)
    with other.writing(services.engine):  # its flock cannot be taken: not another's to fold
        pass
    fold_left_behind(services.settings.database.url)
    assert rows(services, OutboundMessage)[0].status == "pending"
    assert len(journals(services)) == 1
    live.close()  # a sender ending with a mark not folded (its database was away) lets go
    assert len(journals(services)) == 1
    with other.writing(services.engine):
        pass
    assert (
        rows(services, OutboundMessage)[0].status,
        rows(services, OutboundMessage)[0].sent_at,
    ) == (
        "sent",
        ACCEPTED,
    )
    assert journals(services) == []


@pytest.mark.embedded  # the journal is SQLite's
def test_a_pass_ends_with_every_mail_marked_and_no_journal_left(services, process):
    queued(services, process, 3)
    relay = Relay()
    report = deliver(services, relay)
    assert report.sent == 6 == len(relay.sent)
    outbound = rows(services, OutboundMessage)
    assert {o.status for o in outbound} == {"sent"} and all(o.attempts == 1 for o in outbound)
    assert len(sent_events(services)) == 6
    assert journals(services) == []


@pytest.mark.embedded  # the journal is SQLite's
def test_a_pass_takes_the_write_lock_per_batch_not_per_mail(services, process):
    """The point of the journal: 20 mails, one batch, two write transactions (the claim of
    the batch, and the claim that finds nothing and folds the 20 marks), not 22."""
    queued(services, process, 10)
    writes = count_write_transactions(services, lambda: deliver(services, Relay()).sent == 20)
    assert writes == 2
    assert {o.status for o in rows(services, OutboundMessage)} == {"sent"}


@pytest.mark.embedded  # the journal is SQLite's
def test_a_row_journaled_in_a_pass_whose_fold_failed_is_not_sent_again(
    services, process, monkeypatch
):
    """The database is away when the marks are due: the pass fails, the journal keeps them,
    and the next pass folds them before it claims (the row is due again: no second mail)."""
    first, *_ = queued(services, process, 2)
    journal = SentJournal.for_engine(services.engine)
    assert journal is not None
    journal.append(first.id, ACCEPTED)
    real = outbox.mark_journaled

    def away(*_args):
        raise sa.exc.OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(outbox, "mark_journaled", away)
    relay = Relay()
    with pytest.raises(Exception, match="database"):
        deliver(services, relay, journal)
    assert relay.sent == [] and journal.unfolded == {first.id}
    monkeypatch.setattr(outbox, "mark_journaled", real)
    with unit_of_work(services.engine) as session:  # its lease has run out meanwhile
        session.execute(sa.update(OutboundMessage).values(next_attempt_at=utcnow()))
    assert deliver(services, relay, journal).sent == 3 and len(relay.sent) == 3
    outbound = rows(services, OutboundMessage)
    assert {o.status for o in outbound} == {"sent"} and outbound[0].sent_at == ACCEPTED
    assert len(sent_events(services)) == 4
    journal.close()
    assert journals(services) == []


@pytest.mark.postgresql
def test_postgresql_marks_each_mail_as_it_goes_without_a_journal(services, process):
    """Rows are locked there, not the database: nothing to gain, one write transaction a mail."""
    queued(services, process, 2)
    assert SentJournal.for_engine(services.engine) is None
    writes = count_write_transactions(services, lambda: deliver(services, Relay()).sent == 4)
    assert writes == 2 + 4  # two claims (the second finds nothing), four marks
    assert {o.status for o in rows(services, OutboundMessage)} == {"sent"}


@pytest.mark.embedded  # the journal is SQLite's
def test_a_journal_that_cannot_be_written_marks_the_mail_in_the_database_at_once(
    services, process, monkeypatch
):
    """Disk full, a read-only directory: the relay accepted the mail, so it is marked sent as
    PostgreSQL's are, never left pending to go out again with each lease."""
    queued(services, process, 2)
    journal = SentJournal.for_engine(services.engine)
    assert journal is not None

    def full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal, "append", full)
    relay = Relay()
    assert deliver(services, relay, journal).sent == 4 == len(relay.sent)
    outbound = rows(services, OutboundMessage)
    assert {o.status for o in outbound} == {"sent"} and all(o.attempts == 1 for o in outbound)
    assert len(sent_events(services)) == 4
    journal.close()
