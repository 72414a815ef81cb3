"""Hostile input: header injection, script in HTML, path tricks in attachment names, and
secrets in logs. Each of these is something a malicious citizen (or a broken client) sends."""

from __future__ import annotations

import email
import os
from email.policy import default

from mailbot.models import OutboundMessage, StoredAttachment
from mailbot.types import LedgerStatus

from support.app import rows, run_cli, write_config

EVIL = (
    b"From: =?utf-8?q?=3Cscript=3Ealert(1)=3C/script=3E_Mario=0D=0ABcc:_victim@example.org?= <evil@example.net>\r\n"
    b"To: suggerimenti@comune.example.it\r\n"
    b"Subject: =?utf-8?q?Buca=0D=0ABcc:_victim@example.org=0D=0AX-Evil:_1?=\r\n"
    b"Message-ID: <evil-1@example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p onclick="steal()">Ciao<script>alert(1)</script><img src="http://tracker.example/x.gif">'
    b'<a href="javascript:alert(1)">link</a></p>\r\n'
    b"--b\r\nContent-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="../../../../etc/passwd"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\ncm9vdDp4OjA6MDo=\r\n--b--\r\n"
)


def header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    return [line for line in head.split("\r\n") if line and not line[0].isspace()]


def test_an_unparseable_display_name_still_leaves_the_address(services, process):
    raw = EVIL.replace(b"=3Cscript=3E", b"<script>").replace(b"=3C/script=3E", b"</script>")
    assert process(raw).status == LedgerStatus.FILED


def test_crlf_in_subject_or_name_never_becomes_a_header(services, process):
    assert process(EVIL).status == LedgerStatus.FILED
    for sent in rows(services, OutboundMessage):
        names = [line.split(":", 1)[0].lower() for line in header_lines(sent.raw)]
        assert "bcc" not in names and "x-evil" not in names, sent.kind
        assert sent.recipients in ("evil@example.net", "urp@comune.example.it")


def test_html_is_sanitised_for_operators_and_escaped_in_templates(services, process):
    process(EVIL)
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    html = (
        email.message_from_bytes(notification.raw, policy=default).get_body(("html",)).get_content()
    )
    for bad in ("<script", "onclick", "tracker.example", "javascript:"):
        assert bad not in html, bad
    # Templates autoescape whatever reaches them (both parsers drop the name above).
    from datetime import UTC, datetime

    from mailbot.types import Address

    composed = services.composer.confirmation(
        number="2026/000009",
        language="it",
        citizen=Address("<script>alert(1)</script>", "x@example.net"),
        subject="<b onmouseover=x>Buca</b>",
        received_at=datetime(2026, 3, 11, 9, 0, tzinfo=UTC),
        due_at=datetime(2026, 4, 10, 21, 59, 59, tzinfo=UTC),
        office=services.settings.office("urp"),
        reply_to="suggerimenti@comune.example.it",
        in_reply_to=None,
        references=(),
        channel="email",  # a proved address: the subject is repeated, escaped
    )
    html = email.message_from_bytes(composed.raw, policy=default).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b onmouseover" not in html


def test_attachment_names_never_escape_storage(services, process):
    before = set(services.settings.storage.path.rglob("*"))
    process(EVIL)
    [attachment] = rows(services, StoredAttachment)
    assert attachment.filename == "passwd"
    created = set(services.settings.storage.path.rglob("*")) - before
    assert created and all(
        p.resolve().is_relative_to(services.store.objects.resolve()) for p in created
    )
    assert services.store.get(attachment.sha256) == b"root:x:0:0:"


def test_secrets_never_reach_the_logs(tmp_path):
    secret = "Sup3r-Secret-Passw0rd"
    config = write_config(
        tmp_path / "mailbot.toml",
        mailbox={
            "source": "imap",
            "host": "127.0.0.1",
            "port": 9,
            "username": "u",
            "password_env": "TEST_SECRET_PW",
        },
    )
    result = run_cli(
        "--config",
        str(config),
        "--log-level",
        "DEBUG",
        "run",
        "--once",
        env={"TEST_SECRET_PW": secret},
    )
    assert result.returncode == 75
    assert secret not in result.stdout + result.stderr
    check = run_cli("--config", str(config), "check", env={"TEST_SECRET_PW": secret})
    assert secret not in check.stdout + check.stderr
    assert os.environ.get("TEST_SECRET_PW") is None
