"""With a back office, the office's notification of a new case carries the citizen's
attachments up to `backoffice.mail_attachments_kb` together and lists the others, which stay
on the case's page; without one, every attachment travels as before."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default

import pytest

from mailbot.models import StoredAttachment

from support.app import make_process, make_services, rows, sent, write_config

BACKOFFICE = """
[backoffice]
listen = "127.0.0.1:8026"
public_url = "https://servizi.comune.example.it/ufficio"
"""
PAGE = "https://servizi.comune.example.it/ufficio/pratiche/2026-000001"


def with_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Verdi <anna.verdi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Buca in via Roma"
    msg["Message-ID"] = "<buca-1@example.net>"
    msg.set_content("Allego la segnalazione e le foto della buca.")
    msg.add_attachment(b"%PDF-1.4 " + b"s" * 10_000, "application", "pdf", filename="modulo.pdf")
    msg.add_attachment(b"\xff\xd8" + b"f" * 600_000, "image", "jpeg", filename="buca.jpg")
    msg.add_attachment(b"nota " * 1000, "text", "plain", filename="nota.txt")
    return msg.as_bytes()


def services_for(tmp_path, extra: str):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(path.read_text() + extra)
    return make_services(path)


def notification(services) -> tuple[str, list[str]]:
    [row] = sent(services, "notification")
    message = email.message_from_bytes(row.raw, policy=default)
    body = message.get_body(("plain",))
    assert body is not None
    names = [part.get_filename() for part in message.iter_attachments()]
    return str(body.get_content()).replace("\r\n", "\n"), names


@pytest.mark.parametrize(
    ("extra", "carried", "listed"),
    [
        ("", ["modulo.pdf", "nota.txt"], ["buca.jpg (0,6 MB)"]),  # 256 KB by default
        ("mail_attachments_kb = 12\n", ["modulo.pdf"], ["buca.jpg (0,6 MB)", "nota.txt (0,1 MB)"]),
        ("mail_attachments_kb = 0\n", [], ["modulo.pdf (0,1 MB)", "buca.jpg", "nota.txt"]),
        ("mail_attachments_kb = 1024\n", ["buca.jpg", "modulo.pdf", "nota.txt"], []),
    ],
)
def test_with_a_back_office_large_attachments_stay_on_the_case_page(
    tmp_path, extra, carried, listed
):
    services = services_for(tmp_path, BACKOFFICE + extra)
    try:
        make_process(services)(with_attachments())
        text, names = notification(services)
        assert sorted(names) == carried
        if not listed:
            assert "Sulla scheda:" not in text
        else:
            [line] = [x for x in text.splitlines() if x.startswith("Sulla scheda: ")]
            assert all(item in line for item in listed)
            assert "si scaricano dalla scheda" in text and f"Scheda:    {PAGE}" in text
        # the case keeps all three, whatever the mail carried
        stored = sorted(a.filename for a in rows(services, StoredAttachment))
        assert stored == ["buca.jpg", "modulo.pdf", "nota.txt"]
    finally:
        services.engine.dispose()


def test_without_a_back_office_every_attachment_travels(tmp_path):
    services = services_for(tmp_path, "")
    try:
        make_process(services)(with_attachments())
        text, names = notification(services)
        assert sorted(names) == ["buca.jpg", "modulo.pdf", "nota.txt"]
        assert "Sulla scheda" not in text and "buca.jpg" in text
    finally:
        services.engine.dispose()


def test_a_bad_size_names_the_key(tmp_path):
    from mailbot.config import load
    from mailbot.errors import ConfigError

    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(path.read_text() + BACKOFFICE + "mail_attachments_kb = -1\n")
    with pytest.raises(ConfigError, match=r"backoffice\.mail_attachments_kb"):
        load(path)
