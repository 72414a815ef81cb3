"""`run --once` through a backlog: the sender process starts beside the drain (overlap.py), and
every mail still goes out exactly once, on a real SMTP server."""

from __future__ import annotations

import asyncio
import mailbox
import multiprocessing
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from mailbot.models import OutboundMessage, utcnow
from mailbot.replies.delivery import DeliveryReport
from mailbot.runtime import once, overlap, run_once
from mailbot.runtime.sender_process import SenderProcess
from mailbot.services import Services

from support.app import complaint, maildir_services, rows
from support.servers import SmtpServer


def backlog(tmp_path: Path, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Services:
    """20 complaints in the Maildir; the sender process starts after the third is filed."""
    services, box = maildir_services(tmp_path, smtp.port)
    for n in range(20):
        mailbox.Maildir(box).add(complaint(n))
    monkeypatch.setattr(overlap, "START_AFTER", 3)
    return services


def each_sent_once(services: Services, smtp: SmtpServer) -> None:
    assert all(row.sent_at is not None for row in rows(services, OutboundMessage))
    ids = [str(message_from_bytes(r.data, policy=default)["Message-ID"]) for r in smtp.received]
    assert len(ids) == 40 and len(set(ids)) == 40


@pytest.mark.integration
def test_run_once_sends_beside_the_drain_and_every_mail_goes_once(tmp_path, smtp, monkeypatch):
    services = backlog(tmp_path, smtp, monkeypatch)
    started: list[SenderProcess] = []
    ensure = SenderProcess.ensure

    def counted(self: SenderProcess, settings: object) -> None:
        started.append(self)
        ensure(self, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(SenderProcess, "ensure", counted)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.mailboxes["suggerimenti"].counts == {"filed": 20}
    assert len(started) == 1  # one sender process, started after the third message
    assert report.delivery.sent == 40 and not report.delivery.errors
    each_sent_once(services, smtp)  # a confirmation and a notice each


@pytest.mark.integration
def test_the_sender_process_goes_on_beside_the_last_pass(tmp_path, smtp, monkeypatch):
    """Once the drain is over, the sender process started beside it sends on while `run_once`
    makes its own last pass: here that pass sends nothing and waits for the outbox to empty."""
    services = backlog(tmp_path, smtp, monkeypatch)

    async def waiting_pass(_services: object) -> DeliveryReport:
        for _ in range(400):
            if all(row.sent_at is not None for row in rows(services, OutboundMessage)):
                break
            await asyncio.sleep(0.05)
        return DeliveryReport()

    monkeypatch.setattr(once, "_deliver_all", waiting_pass)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.delivery.sent == 40 and not report.delivery.errors  # all by the process
    each_sent_once(services, smtp)


@pytest.mark.integration
def test_what_the_sender_process_leaves_is_sent_before_run_once_returns(
    tmp_path, smtp, monkeypatch
):
    """The process is told to stop when `run_once`'s last pass is over: it starts no other pass
    (here it may not have started one yet), or gives back what it had claimed if told to stop
    at once. Whatever it leaves is sent before `run_once` returns; here the last pass itself
    sends nothing."""
    services = backlog(tmp_path, smtp, monkeypatch)
    passes: list[str] = []
    deliver_all = once._deliver_all

    async def first_sends_nothing(services_: Services) -> DeliveryReport:
        passes.append("pass")
        return DeliveryReport() if len(passes) == 1 else await deliver_all(services_)

    monkeypatch.setattr(once, "_deliver_all", first_sends_nothing)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert len(passes) == 2
    assert report.delivery.sent == 40 and not report.delivery.errors
    each_sent_once(services, smtp)


@pytest.mark.integration
def test_a_run_once_that_fails_after_the_drain_stops_its_sender_after_the_mail_in_hand(
    tmp_path, smtp, monkeypatch
):
    """A run that fails does not wait for the process's pass: it stops after the mail in hand
    and gives the rest of its claim back, due at once. (A run that succeeds lets the pass end,
    sending until nothing is due.) The relay takes 0.2 s a mail, so the pass is still going."""
    services = backlog(tmp_path, smtp, monkeypatch)
    accept = smtp.handler.handle_DATA

    async def slow(server: object, session: object, envelope: object) -> str:
        await asyncio.sleep(0.2)
        return await accept(server, session, envelope)  # type: ignore[no-any-return]

    def broken(*_args: object) -> None:
        while not smtp.received:  # the process is in its pass
            time.sleep(0.05)
        raise RuntimeError("a bug in the digests")

    monkeypatch.setattr(smtp.handler, "handle_DATA", slow)
    monkeypatch.setattr(once.reminders, "send_digests", broken)
    try:
        with pytest.raises(RuntimeError, match="a bug in the digests"):
            run_once(services)
        assert multiprocessing.active_children() == []  # stopped, not left sending
        outbound = rows(services, OutboundMessage)
    finally:
        services.engine.dispose()
    sent = [row for row in outbound if row.sent_at is not None]
    left = [row for row in outbound if row.sent_at is None]
    assert len(smtp.received) == len(sent) < 20  # it stopped long before the 40 were out
    assert left and all(row.status == "pending" for row in left)
    assert all(row.next_attempt_at <= utcnow() for row in left)  # given back: due, not leased


@pytest.mark.integration
def test_a_short_run_once_starts_no_sender_process(tmp_path, smtp, monkeypatch):
    services, box = maildir_services(tmp_path, smtp.port)
    mailbox.Maildir(box).add(complaint(1))
    monkeypatch.setattr(SenderProcess, "ensure", lambda *_: pytest.fail("a process for one mail"))
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.delivery.sent == 2
    assert len(smtp.received) == 2
