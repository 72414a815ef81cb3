"""Two writers on one SQLite database (the mailbox loop and the sender process of `mailbot
run`): the one that waits takes the lock as soon as the other lets go of it, so it gets its
turn in the short gaps of a backlog (SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms and
woke up to 100 ms late: through a backlog the sender waited ~58 ms a mail)."""

from __future__ import annotations

import sqlite3
import threading
import time

import sqlalchemy as sa

from mailbot.db import make_engine, unit_of_work


def test_a_waiting_writer_takes_the_lock_within_milliseconds_of_its_release(tmp_path):
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    with unit_of_work(engine) as session:
        session.execute(sa.text("CREATE TABLE t (who TEXT)"))
    holding, released = threading.Event(), []

    def other_writer() -> None:
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO t VALUES ('other')")
        holding.set()
        time.sleep(0.35)  # SQLite's handler would be asleep from 0.328 s to 0.428 s
        raw.execute("COMMIT")
        released.append(time.perf_counter())
        raw.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    holding.wait()
    with unit_of_work(engine) as session:
        session.execute(sa.text("INSERT INTO t VALUES ('waiter')"))
        acquired = time.perf_counter()
    thread.join()
    late = acquired - released[0]
    assert 0 <= late < 0.03, f"took the lock {late * 1000:.0f} ms after it was free"
    with unit_of_work(engine) as session:
        assert session.execute(sa.text("SELECT who FROM t")).scalars().all() == ["other", "waiter"]


def test_a_read_only_transaction_neither_waits_for_a_writer_nor_holds_it_up(tmp_path):
    from mailbot.db import read_only

    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")
    with unit_of_work(engine) as session:
        session.execute(sa.text("CREATE TABLE t (who TEXT)"))
        session.execute(sa.text("INSERT INTO t VALUES ('before')"))
    holding, done = threading.Event(), threading.Event()

    def other_writer() -> None:
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO t VALUES ('during')")
        holding.set()
        done.wait(10)  # holds the write lock until the read is over (or 10 s)
        raw.execute("COMMIT")
        raw.close()

    thread = threading.Thread(target=other_writer)
    thread.start()
    holding.wait()
    with read_only(engine) as session:
        seen = session.execute(sa.text("SELECT who FROM t")).scalars().all()
    done.set()
    thread.join()
    # Read while the writer still held its lock (a read that waited for it would see "during").
    assert seen == ["before"]


def test_audit_events_are_written_at_commit_in_their_order_and_go_with_a_rollback(tmp_path):
    import pytest
    from sqlmodel import Session, col, select

    from mailbot.db import record_event, upgrade
    from mailbot.models import Event

    engine = make_engine(f"sqlite:///{tmp_path / 'events.db'}")
    upgrade(engine)
    with unit_of_work(engine) as session:
        for n in range(3):
            record_event(session, "test.kept", n=n)
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        record_event(session, "test.lost")
        raise RuntimeError("the message's transaction fails")
    with Session(engine) as session:  # one session, two transactions: the first rolled back
        session.begin()
        record_event(session, "test.rolled_back")
        session.rollback()
        session.begin()
        record_event(session, "test.second")
        session.commit()
    with Session(engine) as session:
        events = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [(e.kind, e.data) for e in events] == [
        ("test.kept", '{"n": 0}'),
        ("test.kept", '{"n": 1}'),
        ("test.kept", '{"n": 2}'),
        ("test.second", "{}"),
    ]
