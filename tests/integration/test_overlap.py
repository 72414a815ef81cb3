"""`run --once` through a backlog: the sender process starts beside the drain (overlap.py), and
every mail still goes out exactly once, on a real SMTP server."""

from __future__ import annotations

import asyncio
import mailbox
from email import message_from_bytes
from email.policy import default

import pytest

from mailbot.models import OutboundMessage
from mailbot.replies.delivery import DeliveryReport
from mailbot.runtime import once, overlap, run_once
from mailbot.runtime.sender_process import SenderProcess
from mailbot.services import Services

from support.app import complaint, maildir_services, rows


@pytest.mark.integration
def test_run_once_sends_beside_the_drain_and_every_mail_goes_once(tmp_path, smtp, monkeypatch):
    services, box = maildir_services(tmp_path, smtp.port)
    for n in range(20):
        mailbox.Maildir(box).add(complaint(n))
    started: list[SenderProcess] = []
    ensure = SenderProcess.ensure

    def counted(self: SenderProcess, settings: object) -> None:
        started.append(self)
        ensure(self, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(overlap, "START_AFTER", 3)
    monkeypatch.setattr(SenderProcess, "ensure", counted)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.mailboxes["suggerimenti"].counts == {"filed": 20}
    assert len(started) == 1  # one sender process, started after the third message
    assert report.delivery.sent == 40 and not report.delivery.errors
    ids = [str(message_from_bytes(r.data, policy=default)["Message-ID"]) for r in smtp.received]
    assert len(ids) == 40 and len(set(ids)) == 40  # a confirmation and a notice each, once
    assert all(row.sent_at is not None for row in rows(services, OutboundMessage))


@pytest.mark.integration
def test_the_sender_process_goes_on_beside_the_last_pass(tmp_path, smtp, monkeypatch):
    """Once the drain is over, the sender process started beside it sends on while `run_once`
    makes its own last pass: here that pass sends nothing and waits for the outbox to empty."""
    services, box = maildir_services(tmp_path, smtp.port)
    for n in range(20):
        mailbox.Maildir(box).add(complaint(n))

    async def waiting_pass(_services: object) -> DeliveryReport:
        for _ in range(400):
            if all(row.sent_at is not None for row in rows(services, OutboundMessage)):
                break
            await asyncio.sleep(0.05)
        return DeliveryReport()

    monkeypatch.setattr(overlap, "START_AFTER", 3)
    monkeypatch.setattr(once, "_deliver_all", waiting_pass)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.delivery.sent == 40 and not report.delivery.errors  # all by the process
    assert all(row.sent_at is not None for row in rows(services, OutboundMessage))
    ids = [str(message_from_bytes(r.data, policy=default)["Message-ID"]) for r in smtp.received]
    assert len(ids) == 40 and len(set(ids)) == 40


@pytest.mark.integration
def test_what_the_sender_process_gives_back_when_it_stops_is_sent(tmp_path, smtp, monkeypatch):
    """The process is told to stop when `run_once`'s last pass is over, and gives back the rows
    it had claimed and not sent: they leave before `run_once` returns. Here the last pass
    sends nothing, and the process, told to stop as soon as it starts, sends nothing either."""
    services, box = maildir_services(tmp_path, smtp.port)
    for n in range(20):
        mailbox.Maildir(box).add(complaint(n))
    passes: list[str] = []
    deliver_all = once._deliver_all

    async def first_sends_nothing(services_: Services) -> DeliveryReport:
        passes.append("pass")
        return DeliveryReport() if len(passes) == 1 else await deliver_all(services_)

    monkeypatch.setattr(overlap, "START_AFTER", 3)
    monkeypatch.setattr(once, "_deliver_all", first_sends_nothing)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert len(passes) == 2
    assert report.delivery.sent == 40 and not report.delivery.errors
    assert all(row.sent_at is not None for row in rows(services, OutboundMessage))
    ids = [str(message_from_bytes(r.data, policy=default)["Message-ID"]) for r in smtp.received]
    assert len(ids) == 40 and len(set(ids)) == 40


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
