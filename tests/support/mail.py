"""Mail the integration tests write and deliver: numbered citizens' complaints (`citizen_mail`),
and `Post`, which hands what the SMTP server accepted to each recipient's Dovecot mailbox.
"""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default

from support.app import IMAP_PASSWORD


def citizen_mail(i: int) -> bytes:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"Cittadino {i} <cittadino{i}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Segnalazione n. {i}: lampione spento in via {i}"
    msg["Date"] = "Mon, 02 Mar 2026 09:00:00 +0100"
    msg["Message-ID"] = f"<segnalazione-{i}@example.net>"
    if i % 3 == 0:
        msg.set_content(f"<p>Il lampione al civico <b>{i}</b> è spento.</p>", subtype="html")
    else:
        msg.set_content(f"Il lampione al civico {i} è spento da giorni.\n")
    if i % 10 == 0:
        msg.add_attachment(
            b"%PDF-1.4 fake " * 100, maintype="application", subtype="pdf", filename=f"foto{i}.pdf"
        )
    return msg.as_bytes()


class Post:
    """Delivers what the SMTP server accepted into each recipient's Dovecot mailbox."""

    def __init__(self, dovecot, smtp, accounts):
        self.dovecot, self.smtp, self.accounts, self.done = dovecot, smtp, accounts, 0

    def deliver(self):
        for received in self.smtp.received[self.done :]:
            for rcpt in received.rcpt_tos:
                self.dovecot.append(self.accounts[rcpt], IMAP_PASSWORD, [received.data])
        self.done = len(self.smtp.received)

    def inbox(self, address):
        with self.dovecot.client(self.accounts[address], IMAP_PASSWORD) as client:
            client.select_folder("INBOX", readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
        return [email.message_from_bytes(fetched[u][b"BODY[]"], policy=default) for u in uids]
