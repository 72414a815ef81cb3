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
