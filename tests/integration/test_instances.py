"""Several `mailbot run` instances on one database: mailbox leases, takeover, fencing, numbering.

Runs on the suite's database: SQLite in the first run, a real PostgreSQL in the second (the
case the leases are for)."""

from __future__ import annotations

import mailbox
import os
import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import create_engine, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from mailbot.engine import application_name
from mailbot.models import Event, InboundMessage, MailboxLease, WorkOrder, utcnow
from mailbot.pipeline import process_inbound
from mailbot.runtime import run_once
from mailbot.runtime.leases import Keeper, LeaseLostError, Leases
from mailbot.types import Origin

from support.app import IMAP_PASSWORD, Daemon, complaint, counts, database_url, rows, run_cli
from support.killing import citizen


def test_one_instance_holds_a_mailbox_until_its_lease_expires(services):
    first, second = Leases(services.engine, 15), Leases(services.engine, 15)
    now = utcnow()
    assert first.acquire("suggerimenti", now)
    assert first.acquire("suggerimenti", now)  # keeping it is acquiring it again
    assert not second.acquire("suggerimenti", now + timedelta(seconds=14))
    assert first.renew("suggerimenti", now + timedelta(seconds=10))
    assert not second.acquire("suggerimenti", now + timedelta(seconds=24))  # renewed until 25
    assert second.acquire("suggerimenti", now + timedelta(seconds=26))  # first went silent
    assert not first.renew("suggerimenti", now + timedelta(seconds=27))
    [lease] = rows(services, MailboxLease)
    assert lease.holder == second.holder


def test_the_old_holder_is_fenced_out_of_the_mailbox(services):
    first, second = Leases(services.engine, 15), Leases(services.engine, 15)
    assert first.acquire("suggerimenti")
    assert second.acquire("suggerimenti", utcnow() + timedelta(seconds=16))
    origin = Origin(mailbox="suggerimenti", received_at=utcnow(), source_ref="fenced")
    with pytest.raises(LeaseLostError, match="another instance"):
        process_inbound(services, complaint(1), origin, lambda s: first.fence(s, "suggerimenti"))
    assert counts(services) == (0, 0, 0)  # nothing written by the instance that lost
    outcome = process_inbound(
        services, complaint(1), origin, lambda s: second.fence(s, "suggerimenti")
    )
    assert outcome.work_order_number and counts(services)[1] == 1


def test_a_dead_holder_on_this_host_is_taken_over_at_once(services):
    dead = Leases(services.engine, 3600, holder=f"{os.uname().nodename}:999999999:dead")
    assert dead.acquire("suggerimenti")
    alive = Leases(services.engine, 15)
    assert alive.acquire("suggerimenti")  # no hour-long wait: pid 999999999 does not exist
    other_host = Leases(services.engine, 15, holder="elsewhere.example:1:abc")
    assert not other_host.acquire("suggerimenti")


@pytest.mark.postgresql  # SQLite has no lock to wait on: one writer at a time
def test_a_stalled_holders_session_keeping_the_lease_row_locked_is_ended(services):
    """A holder paused while its server session sends it a result keeps the row locked past
    its lease (the server's idle timeout does not apply to a session still sending)."""
    stalled = Leases(services.engine, 1, holder="elsewhere.example:4242:abc")
    assert stalled.acquire("suggerimenti")
    its_session = create_engine(
        services.settings.database.url,
        connect_args={"application_name": application_name("elsewhere.example", 4242)},
    ).connect()
    try:
        its_session.begin()
        its_session.execute(
            select(MailboxLease).where(MailboxLease.mailbox == "suggerimenti").with_for_update()
        )
        time.sleep(1.2)  # the lease and the transaction are older than a lease now
        alive = Leases(services.engine, 1)
        waited = time.monotonic()
        assert not alive.acquire("suggerimenti")  # the row was locked: its session is ended
        assert time.monotonic() - waited < 3  # a third of the lease, not for ever
        assert alive.acquire("suggerimenti")
        with pytest.raises(OperationalError):  # the stalled transaction is gone, rolled back
            its_session.execute(select(MailboxLease))
    finally:
        its_session.close()
    [lease] = rows(services, MailboxLease)
    assert lease.holder == alive.holder
    [ended] = [e for e in rows(services, Event) if e.kind == "lease.stalled_session_ended"]
    assert '"sessions": 1' in ended.data


@pytest.mark.postgresql
def test_a_live_holders_session_is_left_alone(services):
    holder = Leases(services.engine, 30, holder="elsewhere.example:4343:abc")
    assert holder.acquire("suggerimenti")
    its_session = create_engine(
        services.settings.database.url,
        connect_args={"application_name": application_name("elsewhere.example", 4343)},
    ).connect()
    try:
        its_session.begin()
        its_session.execute(
            select(MailboxLease).where(MailboxLease.mailbox == "suggerimenti").with_for_update()
        )
        assert not Leases(services.engine, 30).acquire("suggerimenti")  # held: refused at once
        assert its_session.execute(select(MailboxLease)).all()  # its transaction goes on
        its_session.commit()
    finally:
        its_session.close()
    assert not [e for e in rows(services, Event) if e.kind == "lease.stalled_session_ended"]


def test_a_new_instance_gets_its_fair_share_of_the_mailboxes(services):
    boxes = ["a", "b", "c", "d"]
    halts = {box: threading.Event() for box in boxes}
    with Keeper(Leases(services.engine, 3), len(boxes)) as first:
        assert all(first.hold(box, halts[box]) for box in boxes)  # alone: all four
        with Keeper(Leases(services.engine, 3), len(boxes)) as second:
            _wait(lambda: sum(h.is_set() for h in halts.values()) == 2, 10, "two handed back")
            freed = [box for box in boxes if halts[box].is_set()]
            assert freed == ["c", "d"]  # the newest go
            assert not any(first.holds(box) for box in freed)
            assert all(second.hold(box, threading.Event()) for box in freed)
            assert not first.hold("c", threading.Event())  # the share is two each now
            time.sleep(2)  # a renewal later nothing moves
            assert [first.holds(b) for b in boxes] == [True, True, False, False]
            assert [second.holds(b) for b in boxes] == [False, False, True, True]
        # the second one stopped cleanly: its mailboxes are free for the first at once
        assert first.hold("c", threading.Event()) and first.hold("d", threading.Event())


def test_run_once_leaves_a_mailbox_another_instance_watches(services):
    box = services.settings.mailboxes[0].path
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(exist_ok=True)
    mailbox.Maildir(box).add(complaint(1))
    watcher = Leases(services.engine, 60)  # this process's pid: alive
    assert watcher.acquire("suggerimenti")
    report = run_once(services)
    assert "watched by another running instance" in report.unavailable["suggerimenti"]
    assert counts(services)[1] == 0
    watcher.release("suggerimenti")
    assert run_once(services).mailboxes["suggerimenti"].counts == {"filed": 1}


def test_case_numbers_stay_gap_free_under_concurrent_writers(services):
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(15):
                n = worker * 100 + i
                origin = Origin(mailbox="suggerimenti", received_at=utcnow(), source_ref=f"c{n}")
                process_inbound(services, complaint(n), origin)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(int(w.number.split("/")[1]) for w in rows(services, WorkOrder))
    assert numbers == list(range(1, 61))


# --- two real instances on real Dovecot and SMTP servers ------------------------------------


def _share(imap_config, lease_seconds: int = 3):
    imap_config.write_text(
        imap_config.read_text().replace(
            "[database]\n", f"[database]\nlease_seconds = {lease_seconds}\n"
        )
    )
    assert run_cli("--config", str(imap_config), "db", "upgrade").returncode == 0
    return create_engine(database_url(imap_config.parent))


def _holder_pid(engine) -> int | None:
    with Session(engine) as session:
        lease = session.get(MailboxLease, "suggerimenti")
    if lease is None or lease.expires_at < utcnow():
        return None
    return int(lease.holder.split(":")[1])


def _filed(engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(WorkOrder)).one()


def _wait(condition, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s")


def _confirmations(smtp, messages: int) -> tuple[Counter, Counter]:
    """Per citizen: deliveries, and distinct Message-IDs (a re-sent row keeps its Message-ID)."""
    expected = {f"kill{i}@example.net" for i in range(messages)}
    deliveries: Counter = Counter()
    distinct: dict[str, set[str]] = {}
    for received in smtp.received:
        rcpt = received.rcpt_tos[0]
        if rcpt in expected:
            deliveries[rcpt] += 1
            msg = message_from_bytes(received.data, policy=default)
            distinct.setdefault(rcpt, set()).add(str(msg["Message-ID"]))
    return deliveries, Counter({k: len(v) for k, v in distinct.items()})


@pytest.mark.integration
def test_two_instances_one_killed_mid_backlog(imap_config, dovecot, imap_user, smtp):
    messages = 80
    engine = _share(imap_config)
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen(i) for i in range(messages)])
    daemons = [Daemon(imap_config), Daemon(imap_config)]
    try:
        _wait(lambda: _filed(engine) >= 10, 60, "10 cases")
        holder = _holder_pid(engine)
        victim = next(d for d in daemons if d.proc.pid == holder)
        survivor = next(d for d in daemons if d is not victim)
        assert _filed(engine) < messages, "the backlog was gone before the kill"
        victim.kill()
        took = _wait(lambda: _holder_pid(engine) == survivor.proc.pid, 30, "takeover")
        _wait(lambda: _filed(engine) == messages, 120, "every case")
        _wait(lambda: len(_confirmations(smtp, messages)[1]) == messages, 60, "confirmations")
        time.sleep(1)  # anything sent twice would have arrived by now
        assert survivor.stop() == 0
    finally:
        for daemon in daemons:
            daemon.kill()
    print(f"\n  takeover after SIGKILL: {took:.1f} s")
    with Session(engine) as session:
        ledger = list(session.exec(select(InboundMessage)))
        cases = list(session.exec(select(WorkOrder)))
    assert len(ledger) == messages and len(cases) == messages
    assert len({c.subject for c in cases}) == messages  # one case per message
    deliveries, distinct = _confirmations(smtp, messages)
    assert set(distinct.values()) == {1}  # one confirmation per message
    # The only possible repeat: the one in flight when the relay said 250 and SIGKILL came.
    assert sum(deliveries.values()) - messages <= 1


@pytest.mark.integration
@pytest.mark.postgresql  # on SQLite a writer paused mid-transaction holds the file's lock
def test_a_paused_holder_loses_the_mailbox_and_is_fenced(imap_config, dovecot, imap_user, smtp):
    messages = 60
    engine = _share(imap_config)
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen(i) for i in range(messages)])
    daemons = [Daemon(imap_config), Daemon(imap_config)]
    try:
        _wait(lambda: _filed(engine) >= 5, 60, "5 cases")
        holder = _holder_pid(engine)
        paused = next(d for d in daemons if d.proc.pid == holder)
        other = next(d for d in daemons if d is not paused)
        paused.proc.send_signal(signal.SIGSTOP)  # alive, silent: only the expiry can tell
        took = _wait(lambda: _holder_pid(engine) == other.proc.pid, 30, "takeover")
        paused.proc.send_signal(signal.SIGCONT)  # wakes up mid-message, its lease gone
        _wait(lambda: _filed(engine) == messages, 120, "every case")
        # Filed is not yet sent: a stop leaves queued confirmations for the next run.
        _wait(lambda: len(_confirmations(smtp, messages)[1]) == messages, 60, "confirmations")
        paused.wait_for_log("mailbox lease lost", timeout=30)
        assert _holder_pid(engine) == other.proc.pid
        assert paused.stop() == 0 and other.stop() == 0
    finally:
        for daemon in daemons:
            daemon.kill()
    print(f"\n  takeover from a paused holder: {took:.1f} s")
    assert took < 30
    with Session(engine) as session:
        cases = list(session.exec(select(WorkOrder)))
    assert len(cases) == messages
    assert len({c.subject for c in cases}) == messages  # one case per message
    _, distinct = _confirmations(smtp, messages)
    assert len(distinct) == messages and set(distinct.values()) == {1}
