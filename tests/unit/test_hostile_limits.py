"""Crafted hostile messages (written for this project), one per weakness: bounded work and
memory per message, nothing unsafe echoed to a citizen or an office, an operator's address on a
forged reply speaks for nobody, storage private whatever the umask. Timings and peak memory are
measured by bench/hostile_input.py; here, the behaviour."""

from __future__ import annotations

import email
import mailbox
import os
import stat
import subprocess
import sys
from email.policy import default

import pytest

from mailbot.cases.attachments import blocked_name
from mailbot.ingest import limits
from mailbot.ingest.parse import parse
from mailbot.models import InboundMessage, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from support import clock
from support.app import (
    REPO,
    TEST_DATABASE,
    make_process,
    make_services,
    rows,
    run_cli,
    write_config,
)

HEAD = (
    "From: {sender}\r\nTo: suggerimenti@comune.example.it\r\nSubject: {subject}\r\n"
    "Message-ID: <{mid}@example.net>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: {ctype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
)


def mail(body: str | bytes, *, sender="Mario Bianchi <mario.bianchi@example.net>",
         subject="Buca", mid="hostile", ctype="text/plain") -> bytes:  # fmt: skip
    head = HEAD.format(sender=sender, subject=subject, mid=mid, ctype=ctype).encode()
    return head + (body.encode() if isinstance(body, str) else body)


def sent(services, kind: str) -> email.message.EmailMessage:
    row = next(o for o in rows(services, OutboundMessage) if o.kind == kind)
    return email.message_from_bytes(row.raw, policy=default)


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def test_html_nested_too_deep_for_the_sanitiser_is_flattened_to_text(services, process):
    depth = 100_000
    html = "<html><body>" + "<div>" * depth + "buca in via Verdi" + "</div>" * depth
    assert limits.too_deep(html)
    outcome = process(mail(html, ctype="text/html", mid="nested"))
    assert outcome.status == LedgerStatus.FILED
    notification = sent(services, "notification")
    assert "buca in via Verdi" in text_of(notification)
    assert "<div>" not in notification.get_body(("html",)).get_content()


def test_ordinary_html_is_not_taken_for_a_deep_one():
    letter = "<p>" + "<p>riga".join(str(i) for i in range(5000)) + "<table>" + "<tr><td>x" * 500
    assert not limits.too_deep(f"<html><body><div>{letter}</table></div></body></html>")


def test_a_huge_text_body_is_cut_for_the_case_and_kept_whole_as_evidence(services, process):
    line = "segnalo una buca profonda davanti al civico 12 di via Verdi. " * 2 + "\r\n"
    body = line * (6 * 1024 * 1024 // len(line))
    raw = mail(body, mid="huge")
    parsed = parse(raw)
    assert len(parsed.text) <= limits.MAX_BODY_CHARS + len(limits.TRUNCATED_NOTE)
    assert parsed.text.endswith(limits.TRUNCATED_NOTE)
    outcome = process(raw)
    assert outcome.status == LedgerStatus.FILED
    entry = rows(services, InboundMessage)[0]
    assert services.store.get(entry.raw_sha256) == raw  # the original, byte for byte
    assert len(rows(services, OutboundMessage)[1].raw) < 4 * 1024 * 1024


def test_a_multipart_message_has_its_text_cut_and_its_attachment_untouched():
    text = ("testo lungo " * 10 + "\r\n") * 60_000
    attachment = "QUJD" * 500_000  # base64, 2 MB
    raw = (
        b"From: a@example.net\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode() + b"\r\n--b1\r\n"
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment.encode() + b"\r\n--b1--\r\n"
    )
    parsed = parse(raw)
    assert parsed.text.endswith(limits.TRUNCATED_NOTE)
    assert [len(a.payload) for a in parsed.attachments] == [1_500_000]


def test_names_windows_would_run_are_refused_however_they_are_written():
    blocked = (".exe", ".js", ".scr")
    for name in (
        "fattura.exe.",  # Windows drops the dot
        "fattura.exe  ",
        "fattura.pdf:payload.exe",  # an alternate data stream
        "fattura.\u0435\u0445\u0435",  # Cyrillic look-alikes
        "fattura.\uff45\uff58\uff45",  # full-width letters
        "fattura\u202efdp.exe",  # a right-to-left override hiding .exe
        "fattura.pdf.exe",  # a double extension
    ):
        assert blocked_name(name, blocked), name
    for name in ("fattura.pdf", "exe", "relazione.exe.pdf", "foto.jpg"):
        assert not blocked_name(name, blocked), name


def test_a_trailing_dot_does_not_smuggle_an_executable_to_the_office(services, process):
    raw = (
        b"From: a@example.net\r\nTo: suggerimenti@comune.example.it\r\nSubject: fattura\r\n"
        b"Message-ID: <exe-dot@example.net>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
        b"Content-Type: text/plain\r\n\r\nin allegato\r\n--b1\r\n"
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="fattura.exe."\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b1--\r\n"
    )
    assert process(raw).status == LedgerStatus.FILED
    notification = sent(services, "notification")
    assert not list(notification.iter_attachments())
    assert "fattura.exe" in text_of(sent(services, "confirmation"))  # the citizen is told


def test_a_megabyte_subject_is_cut_and_folded_in_the_confirmation(services, process):
    process(mail("Buca.", subject="Buca " * 200_000, mid="long-subject"))
    row = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    assert len(row.raw) < 100_000
    assert all(len(line) <= 998 for line in row.raw.split(b"\r\n"))
    subject = email.message_from_bytes(row.raw, policy=default)["Subject"]
    assert subject.endswith("…") and len(subject) < 300


def test_invalid_8bit_and_encoded_line_breaks_never_reach_the_citizen(services, process):
    raw = mail(
        "Buongiorno.",
        sender="NICCOLO Bianchi <niccolo@example.net>",
        # "Buca\r\nBcc: vittima@example.net" as an encoded word
        subject="=?utf-8?b?QnVjYQ0KQmNjOiB2aXR0aW1hQGV4YW1wbGUubmV0?=",
        mid="eightbit",
    ).replace(b"NICCOLO", b"Niccol\xf2")  # a raw Latin-1 byte, declared nowhere
    assert process(raw).status == LedgerStatus.FILED
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    text = text_of(email.message_from_bytes(confirmation.raw, policy=default))
    assert "Gentile Niccolò Bianchi," in text
    assert "\udcf2" not in confirmation.raw.decode("utf-8", "surrogateescape")
    assert b"=?utf-8?b?QnVj" not in confirmation.raw
    message = email.message_from_bytes(confirmation.raw, policy=default)
    assert "Bcc" not in message and "Buca Bcc: vittima@example.net" in message["Subject"]


def test_a_name_holding_another_address_is_flagged_to_the_office(services, process):
    raw = mail(
        "Rimborsatemi.", sender='"Maria Rossi <maria.rossi@comune.example.it>" <x@evil.example>'
    )
    raw = raw.replace(b"To: suggerimenti", b"Reply-To: x@evil.example\r\nTo: suggerimenti")
    process(raw)
    text = text_of(sent(services, "notification")).replace("\r\n", "\n")
    assert "il mittente\n           reale è x@evil.example" in text
    assert '"Maria Rossi <maria.rossi@comune.example.it>" <x@evil.example>' in text


def test_a_from_with_two_addresses_is_flagged(services, process):
    process(mail("Segnalo.", sender="Anna <anna@example.net>, Sindaco <sindaco@comune.example.it>"))
    text = text_of(sent(services, "notification"))
    assert "il campo From ha più indirizzi (anche sindaco@comune.example.it)" in text


def test_an_operator_reply_failing_dmarc_at_a_trusted_server_is_not_the_office(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = '[matching]\ntrusted_authserv_ids = ["mx.comune.example.it"]\n'
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=extra))
    process = make_process(services)
    process(mail("Buca in via Verdi.", mid="case"))
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    forged = (
        "Authentication-Results: mx.comune.example.it; dmarc=fail (p=none) "
        "header.from=comune.example.it\r\n"
        "From: Mario Rossi <mario.rossi@comune.example.it>\r\nTo: suggerimenti@comune.example.it\r\n"
        f"Subject: R: pratica\r\nMessage-ID: <forged@evil.example>\r\n"
        f"In-Reply-To: {notification.message_id}\r\nReferences: {notification.message_id}\r\n\r\n"
        "#chiudi\r\nPratica respinta.\r\n"
    ).encode()
    outcome = process(forged)
    assert outcome.status == LedgerStatus.THREADED
    case = rows(services, WorkOrder)[0]
    assert case.status != "closed" and case.reasoned_reply_at is None
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]
    entry = rows(services, InboundMessage)[-1]
    assert entry.kind == "citizen_followup"  # forwarded to the office as anyone's mail


def test_everything_created_is_private_to_mailbot_whatever_the_umask(tmp_path):
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(mail("Buca.", mid="umask"))
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
        capture_output=True, text=True, cwd=REPO, preexec_fn=lambda: os.umask(0o022),
        check=False, env={**os.environ, **clock.subprocess_env()},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    database = [tmp_path / "mailbot.db"] if TEST_DATABASE == "sqlite" else []
    created = [*database, *(tmp_path / "sent").iterdir(), tmp_path / "store"]
    created += [p for p in (tmp_path / "store").rglob("*")]
    assert len(created) > 4
    for path in created:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.mark.embedded
def test_db_upgrade_refuses_a_database_in_a_directory_that_does_not_exist(tmp_path):
    config = write_config(tmp_path / "mailbot.toml")
    wrong = f"sqlite:///{tmp_path}/nope/x/mailbot.db"
    config.write_text(config.read_text().replace(f"sqlite:///{tmp_path}/mailbot.db", wrong))
    done = run_cli("--config", str(config), "db", "upgrade")
    assert done.returncode == 2
    assert "database.url: directory" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "nope").exists()


def test_a_large_attachment_is_decoded_once_and_arrives_whole(services, process):
    from email.message import EmailMessage

    data = bytes(range(256)) * (5 * 4096)  # 5 MB
    msg = EmailMessage()
    msg["From"] = "Anna Verdi <anna.verdi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Planimetria"
    msg["Message-ID"] = "<large-attachment@example.net>"
    msg.set_content("In allegato la planimetria.")
    msg.add_attachment(data, maintype="application", subtype="pdf", filename="planimetrìa.pdf")
    raw = msg.as_bytes()
    parsed = parse(raw)
    assert [(a.filename, a.content_type, a.payload == data) for a in parsed.attachments] == [
        ("planimetrìa.pdf", "application/pdf", True)
    ]
    assert parsed.text.strip() == "In allegato la planimetria."
    assert process(raw).status == LedgerStatus.FILED
    forwarded = [a.get_content() for a in sent(services, "notification").iter_attachments()]
    assert forwarded == [data]


def test_the_notification_names_no_made_up_operator(services, process):
    process(mail("Buca.", mid="names"))
    text = " ".join(text_of(sent(services, "notification")).split())
    assert 'a nome "il vostro nome — Ufficio Relazioni con il Pubblico"' in text
    assert "Mario Rossi —" not in text


def test_a_photo_in_an_ordinary_message_is_lifted_and_parsed_like_the_parser_would():
    from email.message import EmailMessage

    from mailparser import parse_from_bytes

    photo = bytes(range(256)) * 1200  # 300 KB: lifted out of the parser's way
    msg = EmailMessage()
    msg["From"] = "Anna Verdi <anna.verdi@example.net>"
    msg["Subject"] = "Buca"
    msg.set_content("La buca in via Roma. " * 5000)  # 105 KB of text: never cut
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename="buca.jpg")
    raw = msg.as_bytes()
    assert limits.LIFT_ABOVE < len(raw) < limits.TRIM_ABOVE
    trimmed = limits.trim_bodies(raw)
    assert len(trimmed.lifted) == 1 and not trimmed.cut
    parsed = parse(raw)
    assert [(a.filename, a.content_type, a.payload) for a in parsed.attachments] == [
        ("buca.jpg", "image/jpeg", photo)
    ]
    reference = parse_from_bytes(raw)  # the same text as mail-parser alone reads
    assert parsed.text.strip() == "\n".join(reference.text_plain).strip()
    assert not parsed.text.endswith(limits.TRUNCATED_NOTE)


def test_an_attachment_cut_short_is_read_as_far_as_it_goes():
    from email.message import EmailMessage

    photo = bytes(range(256)) * 2000
    msg = EmailMessage()
    msg["From"] = "Anna Verdi <anna.verdi@example.net>"
    msg["Subject"] = "Buca"
    msg.set_content("La buca in via Roma.")
    msg.add_attachment(photo, maintype="image", subtype="jpeg", filename="buca.jpg")
    raw = msg.as_bytes()[:400_001]  # the head of an oversized message: cut mid-line, no end
    [attachment] = parse(raw).attachments
    assert len(attachment.payload) > 250_000 and photo.startswith(attachment.payload)
