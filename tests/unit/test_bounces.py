"""Delivery reports about our mail: linked to the message, hard failures reported to the office."""

from __future__ import annotations

import email
from email.policy import default

from mailbot.ingest import bounce
from mailbot.models import OutboundMessage
from mailbot.types import LedgerStatus

from support.app import rows

CITIZEN = "mario.bianchi@example.net"


def dsn(
    original: OutboundMessage,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <mario.bianchi@example.net>: Recipient address rejected",
) -> bytes:
    headers = original.raw.split(b"\r\n\r\n", 1)[0].decode()
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: suggerimenti@comune.example.it
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{action}-{status}@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net. I'm sorry to have to inform you...

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {CITIZEN}
Original-Recipient: rfc822;{CITIZEN}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--BOUNDARY
Content-Type: text/rfc822-headers

{headers}
--BOUNDARY--
""".replace("\n", "\r\n").encode()


def confirmation(services) -> OutboundMessage:
    return next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")


def test_hard_bounce_marks_the_message_and_tells_the_office(services, process):
    process("citizen_plain.eml")
    sent = confirmation(services)
    outcome = process(dsn(sent))
    assert outcome.status == LedgerStatus.BOUNCE
    assert outcome.work_order_number == "2026/000001"
    marked = confirmation(services)
    assert marked.bounce == "hard"
    assert "5.1.1" in (marked.bounce_detail or "")
    [notice] = [o for o in rows(services, OutboundMessage) if o.kind == "notice"]
    assert notice.recipients == "urp@comune.example.it"
    text = email.message_from_bytes(notice.raw, policy=default).get_body(("plain",)).get_content()
    assert "NON è stato consegnato" in text and CITIZEN in text
    # never a case, never an answer to the mail system
    assert (
        len(
            {o.recipients for o in rows(services, OutboundMessage)}
            - {CITIZEN, "urp@comune.example.it"}
        )
        == 0
    )


def test_delay_is_recorded_as_such_not_as_a_failure_and_does_not_alarm_the_office(
    services, process
):
    process("citizen_plain.eml")
    process(
        dsn(
            confirmation(services),
            action="delayed",
            status="4.4.7",
            diagnostic="smtp; 451 4.4.7 timeout",
        )
    )
    assert confirmation(services).bounce == "delayed"
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "notice"]


def test_free_text_bounce_is_read_for_recipient_status_and_original():
    raw = (
        b"From: postmaster@pec.example.it\r\nTo: suggerimenti@comune.example.it\r\n"
        b"Subject: Mancata consegna: [Pratica 2026/000001] Buca\r\nMessage-ID: <n1@pec.example.it>\r\n\r\n"
        b"Il messaggio non e' stato consegnato a:\r\n  <mario.bianchi@example.net>\r\n"
        b"  550 5.2.2 mailbox full\r\n\r\n--- messaggio originale ---\r\n"
        b"Message-ID: <mb.2026-000001.c.0011aabb.0123456789abcdef@comune.example.it>\r\n"
    )
    report = bounce.read(raw, "<n1@pec.example.it>")
    assert report.verdict == "bounce"
    assert [(r.address, r.status, r.permanent) for r in report.recipients] == [
        ("mario.bianchi@example.net", "5.2.2", True)
    ]
    assert (
        report.original_message_id
        == "<mb.2026-000001.c.0011aabb.0123456789abcdef@comune.example.it>"
    )


def test_bounce_about_mail_to_the_office_tells_nobody_so_it_cannot_loop(services, process):
    process("citizen_plain.eml")
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    raw = dsn(notification).replace(b"mario.bianchi@example.net", b"urp@comune.example.it")
    assert process(raw).status == LedgerStatus.BOUNCE
    assert (
        next(o for o in rows(services, OutboundMessage) if o.kind == "notification").bounce
        == "hard"
    )
    assert [o for o in rows(services, OutboundMessage) if o.kind == "notice"] == []


def test_reconcile_names_an_unknown_mailbox(services):
    from support.app import run_cli

    result = run_cli(
        "--config", str(services.settings.source_path), "reconcile", "--mailbox", "sugerimenti"
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "mailbot: --mailbox: no mailbox 'sugerimenti' (configured: suggerimenti)"
    )
