"""The outbox sender against a real SMTP server on loopback: accept, defer, fail, outage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from mailbot.models import Event, OutboundMessage, utcnow
from mailbot.replies.delivery import deliver_pending
from mailbot.replies.sender import make_transport

from support.app import make_process, make_services, rows, write_config
from support.servers import free_port


@pytest.fixture
def smtp_services(tmp_path, smtp):
    (tmp_path / "maildir").mkdir()
    svc = make_services(write_config(tmp_path / "mailbot.toml", smtp_port=smtp.port))
    yield svc
    svc.engine.dispose()


def deliver(services):
    async def go():
        transport = make_transport(services.settings)
        try:
            return await deliver_pending(services.engine, services.settings, transport)
        finally:
            await transport.close()

    return asyncio.run(go())


def queue(services, *fixtures):
    process = make_process(services)
    for name in fixtures:
        process(name)


class MemoryRelay:
    """A relay in memory: keeps each message it is given; `then(n)` runs after the n-th."""

    def __init__(self, then=None) -> None:
        self.sent: list[bytes] = []
        self.then = then

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def send(self, envelope_from, recipients, raw):
        self.sent.append(raw)
        if self.then is not None:
            self.then(len(self.sent))


def outbox_services(tmp_path, setting: str):
    """Services on the default config with one more `[outbox]` setting, and 2 rows a
    complaint queued by `process`."""
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", extra="")
    config.write_text(config.read_text().replace("[outbox]\n", f"[outbox]\n{setting}\n"))
    return make_services(config)


def test_pending_confirmations_are_sent_byte_for_byte_and_marked(smtp_services, smtp):
    queue(smtp_services, "citizen_plain.eml", "citizen_html_only.eml")
    report = deliver(smtp_services)
    assert (report.sent, report.retried, report.failed) == (
        4,
        0,
        0,
    )  # 2 confirmations, 2 notifications
    outs = rows(smtp_services, OutboundMessage)
    assert {o.status for o in outs} == {"sent"}
    assert all(o.sent_at is not None and o.attempts == 1 for o in outs)
    got = {r.data.split(b"Message-ID:")[1].split(b">")[0].strip() + b">": r for r in smtp.received}
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        "luca.ferrari@example.com",
        "mario.bianchi@example.net",
        "urp@comune.example.it",
        "urp@comune.example.it",
    ]
    for out in outs:
        received = got[out.message_id.encode()]
        assert received.mail_from == "suggerimenti@comune.example.it"
        assert received.data.replace(b"\r\n", b"\n") == out.raw.replace(b"\r\n", b"\n")
    # nothing is sent twice
    assert deliver(smtp_services).sent == 0
    assert len(smtp.received) == 4


def test_temporary_refusal_is_retried_later_with_backoff(smtp_services, smtp):
    smtp.handler.temp_fail.add("mario.bianchi@example.net")
    queue(smtp_services, "citizen_plain.eml")
    report = deliver(smtp_services)
    assert (report.sent, report.retried) == (1, 1)  # the office's notification went
    [out] = [o for o in rows(smtp_services, OutboundMessage) if o.kind == "confirmation"]
    assert out.status == "pending"
    assert out.attempts == 1
    assert "451" in (out.last_error or "")
    smtp.handler.temp_fail.clear()
    assert deliver(smtp_services).sent == 1  # retry_base_seconds = 0 in tests
    assert {o.status for o in rows(smtp_services, OutboundMessage)} == {"sent"}


def test_permanent_refusal_fails_the_message_and_says_why(smtp_services, smtp):
    smtp.handler.perm_fail.add("mario.bianchi@example.net")
    queue(smtp_services, "citizen_plain.eml", "citizen_html_only.eml")
    report = deliver(smtp_services)
    assert (report.sent, report.failed) == (3, 1)
    failed = [o for o in rows(smtp_services, OutboundMessage) if o.status == "failed"]
    assert len(failed) == 1 and "550" in (failed[0].last_error or "")
    assert "outbound.failed" in {e.kind for e in rows(smtp_services, Event)}


def test_relay_down_keeps_everything_queued_without_counting_attempts(tmp_path, smtp_services):
    down = make_services(write_config(tmp_path / "down.toml", smtp_port=free_port()))
    queue(smtp_services, "citizen_plain.eml", "citizen_html_only.eml")
    report = deliver(down)
    assert report.sent == 0 and report.blocked
    assert "cannot connect" in report.errors[0]
    outs = rows(down, OutboundMessage)
    assert [o.status for o in outs] == ["pending"] * 4
    assert [o.attempts for o in outs] == [0] * 4


def test_too_many_temporary_refusals_end_in_failure(tmp_path, smtp):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", smtp_port=smtp.port)
    path.write_text(
        path.read_text().replace(
            "retry_base_seconds = 0", "retry_base_seconds = 0\nmax_attempts = 2"
        )
    )
    services = make_services(path)
    queue(services, "citizen_plain.eml")
    smtp.handler.temp_fail.add("mario.bianchi@example.net")
    deliver(services)
    deliver(services)
    [out] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert out.status == "failed"
    assert out.attempts == 2
    assert (out.last_error or "").startswith("gave up after 2 attempt(s)")


def test_permanent_failure_to_a_citizen_is_reported_to_the_office_once(smtp_services, smtp):
    from mailbot import runtime

    queue(smtp_services, "citizen_plain.eml")
    smtp.handler.perm_fail.add("mario.bianchi@example.net")
    report = runtime.deliver_now(smtp_services)
    assert report.failed == 1
    notices = [
        r for r in smtp.received if r.rcpt_tos == ["urp@comune.example.it"] and b"NON " in r.data
    ]
    assert len(notices) == 1
    assert b"mario.bianchi@example.net" in notices[0].data
    runtime.deliver_now(smtp_services)  # nothing new to report
    assert len([o for o in rows(smtp_services, OutboundMessage) if o.kind == "notice"]) == 1


def test_relay_down_longer_than_deliver_until_fails_and_tells_the_office(tmp_path):
    import time

    from mailbot.cases import notices

    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", smtp_port=free_port())
    path.write_text(path.read_text().replace("[outbox]", '[outbox]\ndeliver_until = "1s"'))
    services = make_services(path)
    queue(services, "citizen_plain.eml")
    time.sleep(1.1)
    report = deliver(services)
    assert report.blocked and report.sent == 0
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    assert confirmation.status == "failed"
    assert (confirmation.last_error or "").startswith("not delivered within the time allowed")
    assert notices.report_failures(services) == 1
    assert notices.report_failures(services) == 0
    [notice] = [o for o in rows(services, OutboundMessage) if o.kind == "notice"]
    assert notice.recipients == "urp@comune.example.it" and notice.status == "pending"


def test_a_slow_relay_still_gets_every_row_in_one_pass(tmp_path):
    """Rows handed back because half the lease went by are taken again in the same pass (a
    `run --once` used to end with them pending)."""
    from mailbot.replies.sender import Router

    services = outbox_services(tmp_path, "lease_seconds = 1")
    queue(services, "citizen_plain.eml", "citizen_html_only.eml", "citizen_latin1_qp.eml")
    sent: list[str] = []

    class Slow:
        async def open(self) -> None: ...
        async def close(self) -> None: ...
        async def send(self, envelope_from, recipients, raw):
            await asyncio.sleep(0.2)  # 6 rows x 0.2 s: twice past the 0.5 s budget
            sent.extend(recipients)

    report = asyncio.run(deliver_pending(services.engine, services.settings, Router({"": Slow()})))
    assert report.sent == 6 and len(sent) == 6
    assert {o.status for o in rows(services, OutboundMessage)} == {"sent"}


def test_every_row_the_relay_accepted_is_marked_when_sending_breaks(smtp_services, smtp):
    from support.app import complaint

    process = make_process(smtp_services)
    for n in range(1, 41):
        process(complaint(n))  # 80 rows

    async def go(limit):
        router = make_transport(smtp_services.settings)
        real = router.transports[""].send
        calls = 0

        async def send(*args):
            nonlocal calls
            calls += 1
            if calls > limit:
                raise RuntimeError("the process dies here")
            await real(*args)

        router.transports[""].send = send  # type: ignore[method-assign]
        try:
            return await deliver_pending(smtp_services.engine, smtp_services.settings, router)
        finally:
            await router.close()

    with pytest.raises(RuntimeError):
        asyncio.run(go(45))  # 45 accepted, then the sender breaks
    statuses = [o.status for o in rows(smtp_services, OutboundMessage)]
    assert statuses.count("sent") == 45 == len(smtp.received)  # each accepted one is marked
    with Session(smtp_services.engine) as session:  # the dead sender's lease runs out
        session.execute(update(OutboundMessage).values(next_attempt_at=datetime.now(UTC)))
        session.commit()
    assert asyncio.run(go(1000)).sent == 35
    assert {o.status for o in rows(smtp_services, OutboundMessage)} == {"sent"}
    sent_events = [e for e in rows(smtp_services, Event) if e.kind == "outbound.sent"]
    assert len(sent_events) == 80 == len(smtp.received)


def test_a_stop_request_ends_the_pass_after_the_mail_in_hand_and_gives_the_rest_back(
    smtp_services, smtp
):
    """The daemon's sender process is told to stop between two mails: what it sent is marked,
    the rows it had claimed and not sent are due again at once (not held by its lease)."""
    from support.app import complaint

    process = make_process(smtp_services)
    for n in range(1, 11):
        process(complaint(n))  # 20 rows, one claim

    async def go():
        router = make_transport(smtp_services.settings)
        try:
            return await deliver_pending(
                smtp_services.engine,
                smtp_services.settings,
                router,
                should_stop=lambda: len(smtp.received) >= 3,
            )
        finally:
            await router.close()

    report = asyncio.run(go())
    assert report.sent == 3 and len(smtp.received) == 3
    outbound = rows(smtp_services, OutboundMessage)
    assert sorted(o.status for o in outbound) == ["pending"] * 17 + ["sent"] * 3
    now = utcnow()
    assert all(o.next_attempt_at <= now for o in outbound if o.status == "pending")
    assert all(o.attempts == 0 for o in outbound if o.status == "pending")
    assert deliver(smtp_services).sent == 17  # the next pass takes exactly the rest


def test_a_claimed_batch_leaves_the_bytes_in_the_database_until_each_is_sent(smtp_services):
    import sqlalchemy as sa

    from mailbot.db import unit_of_work
    from mailbot.replies import outbox

    queue(smtp_services, "citizen_plain.eml", "citizen_html_only.eml")
    stored = {o.id: o.raw for o in rows(smtp_services, OutboundMessage)}
    with unit_of_work(smtp_services.engine) as session:
        claimed = outbox.claim_due(session, utcnow(), 10, timedelta(seconds=60))
        assert len(claimed) == 4
        assert all("raw" in sa.inspect(row).unloaded for row in claimed)
        assert all(outbox.raw_of(session, row.id) == stored[row.id] for row in claimed)


def test_a_pass_claims_with_one_statement_however_many_rows_it_has_tried(tmp_path):
    """Rows are claimed after the last one tried, not "not in (every id tried so far)": that
    list grew through a backlog, each claim was a new statement for SQLAlchemy's and SQLite's
    caches, and the sender process grew by ~60 MB over 3,000 messages. One row deferred by the
    relay is not tried again in the same pass."""
    import sqlalchemy as sa

    from mailbot.replies.sender import Router

    from support.app import complaint

    services = outbox_services(tmp_path, "batch_size = 3")
    process = make_process(services)
    for n in range(1, 8):
        process(complaint(n))  # 14 rows: five claims of up to 3
    claims: list[tuple[str, int]] = []

    @sa.event.listens_for(services.engine, "before_cursor_execute")
    def seen(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().upper()
        if head.startswith("SELECT") and "LIMIT" in head and "FROM OUTBOUND_MESSAGE" in head:
            claims.append((statement, len(parameters)))

    def defer_the_second(n: int) -> None:
        if n == 2:
            from mailbot.errors import DeliveryDeferredError

            raise DeliveryDeferredError("451 try again later")

    relay = MemoryRelay(defer_the_second)
    report = asyncio.run(deliver_pending(services.engine, services.settings, Router({"": relay})))
    assert (report.sent, report.retried) == (13, 1)
    assert len(relay.sent) == 14  # the deferred row once, not again in this pass
    assert len(claims) >= 5
    assert len({statement for statement, _ in claims}) == 1
    assert len({count for _, count in claims}) == 1


def test_a_row_due_during_a_pass_is_taken_at_the_next_sweep_of_the_same_pass(tmp_path, monkeypatch):
    """The claim cursor moves on by id; a row before it that becomes due meanwhile (here the
    first, held back, then let go while the pass sends the others) is taken when the sweep
    starts again from the first id, not left for the next pass."""
    import sqlalchemy as sa

    from mailbot.replies import delivery
    from mailbot.replies.sender import Router

    from support.app import complaint

    services = outbox_services(tmp_path, "batch_size = 2")
    process = make_process(services)
    for n in range(1, 5):
        process(complaint(n))  # 8 rows
    first = min(o.id for o in rows(services, OutboundMessage))
    table = OutboundMessage.__table__
    later = utcnow() + timedelta(hours=1)
    with services.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == first).values(next_attempt_at=later))
    monkeypatch.setattr(delivery, "SWEEP_SECONDS", 0.0)

    def let_the_first_go(n: int) -> None:
        if n == 3:  # while the pass is past it
            with services.engine.begin() as conn:
                due = utcnow() - timedelta(seconds=1)
                conn.execute(
                    sa.update(table).where(table.c.id == first).values(next_attempt_at=due)
                )

    relay = MemoryRelay(let_the_first_go)
    report = asyncio.run(deliver_pending(services.engine, services.settings, Router({"": relay})))
    assert report.sent == 8 and len(relay.sent) == 8
    assert {o.status for o in rows(services, OutboundMessage)} == {"sent"}
