"""One inbound message through the pipeline: what gets filed, ignored, rejected, quarantined."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

import pytest
from sqlmodel import Session, select

from mailbot.cases import views, workorders
from mailbot.errors import DatabaseUnavailableError, StorageUnavailableError
from mailbot.ingest import parse
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    InboundMessage,
    OutboundMessage,
    StoredAttachment,
    WorkOrder,
)
from mailbot.replies.threading import verify_message_id
from mailbot.storage import load_or_create_secret
from mailbot.types import LedgerStatus

from support.app import counts, fixture_bytes, rows


def test_citizen_mail_opens_a_work_order_with_a_queued_confirmation(services, process):
    received = datetime(2026, 3, 2, 7, 15, tzinfo=UTC)
    outcome = process("citizen_plain.eml", received_at=received)

    assert outcome.status == LedgerStatus.FILED
    assert outcome.work_order_number == "2026/000001"
    [wo] = rows(services, WorkOrder)
    assert wo.status == "open"
    assert wo.office == "urp"
    assert wo.subject == "Buca pericolosa in via Verdi"
    assert wo.received_at == received
    # 30 calendar days, to the end of that day in Rome (CET+1 in March... CEST from the 29th)
    assert wo.due_at == datetime(2026, 4, 1, 21, 59, 59, tzinfo=UTC)
    [contact] = rows(services, Contact)
    assert contact.email == "mario.bianchi@example.net"  # normalised
    assert contact.taxpayer_id is None

    [out] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert out.status == "pending"
    assert out.recipients == "mario.bianchi@example.net"
    sent = email.message_from_bytes(out.raw, policy=default)
    assert sent["Subject"] == "[Pratica 2026/000001] Buca pericolosa in via Verdi"
    assert sent["In-Reply-To"] == "<citizen-plain-0001@mail.example.net>"
    assert sent["References"] == "<citizen-plain-0001@mail.example.net>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Message-ID"].strip() == out.message_id
    secret = load_or_create_secret(services.settings.storage.path)
    assert verify_message_id(secret, out.message_id) == "2026/000001"

    [inbound] = rows(services, InboundMessage)
    assert inbound.status == "filed"
    assert inbound.work_order_id == wo.id
    assert services.store.get(inbound.raw_sha256) == fixture_bytes("citizen_plain.eml")


def test_conversation_holds_the_citizen_mail_and_the_confirmation(services, process):
    process("citizen_plain.eml")
    with Session(services.engine) as session:
        detail = views.show_work_order(session, "2026/000001", services.settings.timezone)
    assert [m["kind"] for m in detail["messages"]] == ["citizen", "confirmation", "notification"]
    citizen, confirmation, notification = detail["messages"]
    assert citizen["direction"] == "in"
    assert "buca profonda" in citizen["body_text"]
    assert citizen["message_id"] == "<citizen-plain-0001@mail.example.net>"
    assert confirmation["direction"] == "out"
    assert "Pratica n. 2026/000001" in confirmation["body_text"]
    assert notification["to"] == ["urp@comune.example.it"]
    assert "Pratica n. 2026/000001" in confirmation["body_text"]
    assert detail["message_count"] == 3
    assert detail["contact"] == {
        "email": "mario.bianchi@example.net",
        "name": "Mario Bianchi",
        "generic": True,
        "codice_fiscale": None,
        "verified": False,
        "reachable": True,
        "phone": None,
        "postal_address": None,
    }
    assert detail["match"] == {
        "rule": "generic_contact",
        "confidence": 0.0,
        "state": "generic",
        "candidates": [],
    }


def test_same_message_twice_is_processed_once(services, process):
    first = process("citizen_plain.eml")
    second = process("citizen_plain.eml")  # another position, same Message-ID
    assert first.status == LedgerStatus.FILED
    assert second.duplicate
    assert counts(services) == (1, 1, 2)


def test_message_without_message_id_is_deduplicated_by_content(services, process):
    process("citizen_no_message_id.eml")
    again = process("citizen_no_message_id.eml")
    assert again.duplicate
    [inbound] = rows(services, InboundMessage)
    assert inbound.message_key.startswith("sha256:")
    assert counts(services) == (1, 1, 2)


def test_numbers_are_sequential_per_year_of_receipt_in_local_time(services, process):
    process("citizen_plain.eml", received_at=datetime(2026, 12, 31, 22, 0, tzinfo=UTC))
    # 23:30 UTC on 31 December is already 1 January in Rome.
    process("citizen_html_only.eml", received_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    process("citizen_latin1_qp.eml", received_at=datetime(2027, 1, 2, 9, 0, tzinfo=UTC))
    numbers = [wo.number for wo in rows(services, WorkOrder)]
    assert numbers == ["2026/000001", "2027/000001", "2027/000002"]


def test_html_only_mail_is_converted_to_text(services, process):
    process("citizen_html_only.eml")
    [msg] = [m for m in rows(services, ConversationMessage) if m.direction == "in"]
    assert "da una settimana i lampioni sono spenti." in msg.body_text
    assert "<b>" not in msg.body_text
    assert "lato chiesa" in msg.body_text


def test_encoded_headers_and_latin1_body_are_decoded(services, process):
    process("citizen_latin1_qp.eml")
    [wo] = rows(services, WorkOrder)
    assert wo.subject == "Perché l'anagrafe è chiusa?"
    [contact] = rows(services, Contact)
    assert contact.name == "Niccolò Colombo"
    [msg] = [m for m in rows(services, ConversationMessage) if m.direction == "in"]
    assert "giovedì mattina, però" in msg.body_text


def test_attachments_are_stored_content_addressed_with_name_type_and_size(services, process):
    process("citizen_with_attachment.eml")
    attachments = sorted(rows(services, StoredAttachment), key=lambda a: a.filename)
    assert [(a.filename, a.content_type) for a in attachments] == [
        ("albero.png", "image/png"),
        ("verbale n°1.pdf", "application/pdf"),
    ]
    pdf = attachments[1]
    data = services.store.get(pdf.sha256)
    assert data.startswith(b"%PDF-1.4")
    assert pdf.size == len(data)


def test_auto_reply_is_recorded_but_never_answered(services, process):
    outcome = process("autoreply_fuori_sede.eml")
    assert outcome.status == LedgerStatus.IGNORED
    assert "Auto-Submitted" in (outcome.reason or "")
    assert counts(services) == (1, 0, 0)
    [inbound] = rows(services, InboundMessage)
    assert inbound.status == "ignored"


def test_bounce_about_someone_else_is_recorded_never_a_case(services, process):
    outcome = process("bounce_mailer_daemon.eml")
    assert outcome.status == LedgerStatus.BOUNCE
    assert "not about a message of ours" in (outcome.reason or "")
    assert counts(services) == (1, 0, 0)


def test_auto_forwarded_mail_is_still_a_citizen(services, process):
    assert process("citizen_auto_forwarded.eml").status == LedgerStatus.FILED


def test_our_own_mail_coming_back_is_ignored(services, process):
    process("citizen_plain.eml")
    [out] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    outcome = process(out.raw)
    assert outcome.status == LedgerStatus.IGNORED
    assert counts(services) == (2, 1, 2)


def test_mail_without_sender_is_rejected_and_kept(services, process):
    outcome = process("malformed_no_from.eml")
    assert outcome.status == LedgerStatus.REJECTED
    assert "sender" in (outcome.reason or "")
    [inbound] = rows(services, InboundMessage)
    assert inbound.status == "rejected"
    assert services.store.get(inbound.raw_sha256) == fixture_bytes("malformed_no_from.eml")
    assert counts(services) == (1, 0, 0)


def test_broken_mime_does_not_stop_the_next_message(services, process):
    broken = process("malformed_broken_mime.eml")
    assert broken.status in (LedgerStatus.FILED, LedgerStatus.REJECTED)
    assert process("citizen_plain.eml").status == LedgerStatus.FILED


def test_unexpected_error_quarantines_with_bytes_and_traceback(services, process, monkeypatch):
    def explode(raw):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(parse, "parse", explode)
    outcome = process("citizen_plain.eml")
    assert outcome.status == LedgerStatus.QUARANTINED
    [inbound] = rows(services, InboundMessage)
    assert inbound.status == "quarantined"
    assert inbound.reason == "RuntimeError: parser bug"
    assert "Traceback" in (inbound.error_detail or "")
    assert len(inbound.error_digest or "") == 16
    assert services.store.get(inbound.raw_sha256) == fixture_bytes("citizen_plain.eml")
    # nothing half-done survives the rollback
    assert counts(services) == (1, 0, 0)
    monkeypatch.undo()
    assert process("citizen_html_only.eml").status == LedgerStatus.FILED


def test_outage_rolls_back_and_leaves_the_message_for_later(services, process, monkeypatch):
    def outage(*args, **kwargs):
        raise DatabaseUnavailableError("database unavailable: disk I/O error")

    monkeypatch.setattr(workorders, "open_work_order", outage)
    with pytest.raises(DatabaseUnavailableError):
        process("citizen_plain.eml")
    assert counts(services) == (0, 0, 0)
    monkeypatch.undo()
    assert process("citizen_plain.eml").status == LedgerStatus.FILED


def test_every_step_is_in_the_audit_trail(services, process):
    process("citizen_plain.eml")
    process("autoreply_fuori_sede.eml")
    with Session(services.engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(Event.id))]
    assert kinds == [
        "work_order.opened",
        "message.citizen",
        "message.confirmation",
        "message.notification",
        "inbound.ignored",
    ]


def test_full_disk_is_an_outage_not_a_lost_message(services, process, monkeypatch):
    import errno
    import os

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageUnavailableError, match="No space left"):
        process("citizen_plain.eml")
    assert counts(services) == (0, 0, 0)  # nothing recorded: the message is fetched again
    assert not list(services.store.objects.rglob("*.tmp"))
    monkeypatch.undo()
    assert process("citizen_plain.eml").status == LedgerStatus.FILED


def test_maildir_mail_of_one_second_is_taken_in_delivery_order(services, tmp_path):
    """Unique names carry the microseconds unpadded: "M99999" was delivered before "M100000",
    though it sorts after it as text."""
    from mailbot.ingest.sources import make_source

    root = services.settings.mailboxes[0].path
    for part in ("new", "cur", "tmp"):
        (root / part).mkdir()
    new = root / "new"
    names = ["1772442000.M99999P7Q1.host", "1772442000.M100000P7Q2.host", "1772442001.M5P7Q3.host"]
    for n, name in enumerate(names, 1):
        (new / name).write_bytes(b"Message-ID: <m%d@example.net>\r\n\r\nx\r\n" % n)
    source = make_source(services.settings.mailboxes[0])
    assert [origin.source_ref for origin, _ in source.fetch(None)] == names
