"""Attachment policy: blocked types and oversized attachments are refused, kept in the
original, never forwarded, and the citizen is told which and why."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import SMTP, default

from mailbot.models import OutboundMessage, StoredAttachment

from support.app import rows


def mail_with(attachments: list[tuple[str, bytes]]) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Anna Romano <anna.romano@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Documenti"
    msg["Message-ID"] = "<attach-policy@example.net>"
    msg.set_content("In allegato i documenti.")
    for name, payload in attachments:
        msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def test_blocked_and_oversized_attachments_are_refused_and_explained(services, process):
    big = b"x" * (10 * 1024 * 1024 + 1)
    raw = mail_with(
        [("verbale.pdf", b"%PDF-1.4 ok"), ("fattura.exe", b"MZ..."), ("video.mov", big)]
    )
    process(raw)
    assert [a.filename for a in rows(services, StoredAttachment)] == ["verbale.pdf"]
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    names = [
        p.get_filename()
        for p in email.message_from_bytes(notification.raw, policy=default).iter_attachments()
    ]
    assert names == ["verbale.pdf"]
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    text = (
        email.message_from_bytes(confirmation.raw, policy=default)
        .get_body(("plain",))
        .get_content()
    )
    assert "Non abbiamo accettato questi allegati:" in text
    assert "fattura.exe: tipo di file non ammesso" in text
    assert "video.mov: supera 10 MB" in text  # not "10.0 MB"
    # the original, attachments and all, is kept as evidence
    assert services.store.get(services.store.put(raw)) == raw


def test_nothing_is_said_when_every_attachment_is_accepted(services, process):
    process(mail_with([("verbale.pdf", b"%PDF-1.4 ok")]))
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    text = (
        email.message_from_bytes(confirmation.raw, policy=default)
        .get_body(("plain",))
        .get_content()
    )
    assert "allegati" not in text.split("Per aggiungere")[0]
    assert "\n\n\n" not in text.replace("\r\n", "\n")
