"""The brake on automatic mail counts one mailbox however its address is spelled: a stranger
who types `victim+1@`, `victim+2@`, `V.I.C.T.I.M@gmail.com` … gets no more confirmations sent
to one person than the per-recipient limit."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from mailbot.models import Event, OutboundMessage
from mailbot.replies.recipients import recipient_key

from support.app import make_process, make_services, rows, write_config
from support.clock import today_is


@pytest.mark.parametrize(
    ("spelled", "key"),
    [
        ("victim@example.org", "victim@example.org"),
        ("Victim+1@Example.ORG", "victim@example.org"),
        ("victim+a+b@example.org", "victim@example.org"),
        ("v.ic.tim@example.org", "v.ic.tim@example.org"),  # dots matter at most providers
        ("V.ic.Tim+x@gmail.com", "victim@gmail.com"),
        ("vic.tim@googlemail.com", "victim@gmail.com"),
        ("utente@dominio-è.it", "utente@xn--dominio--80a.it"),
        ("utente+1@XN--DOMINIO--80A.IT", "utente@xn--dominio--80a.it"),
        ("<victim@example.org.>", "victim@example.org"),
    ],
)
def test_one_mailbox_has_one_key(spelled, key):
    assert recipient_key(spelled) == key


def mail(n: int, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Anna <{sender}>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Segnalazione {n}"
    msg["Message-ID"] = f"<variant-{n}@example.net>"
    msg.set_content(f"Testo {n}.")
    return msg.as_bytes()


@pytest.mark.parametrize(
    "spellings",
    [
        [f"victim+{n}@example.org" for n in range(8)],
        ["victim@gmail.com", "v.ictim@gmail.com", "vi.ctim@gmail.com", "vic.tim+1@gmail.com",
         "victim+2@googlemail.com", "v.i.c.t.i.m@gmail.com", "Victim@Gmail.com", "vict.im@gmail.com"],
    ],
)  # fmt: skip
def test_spelling_variants_share_the_per_recipient_limit(tmp_path, spellings):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", transport="directory"))
    process = make_process(services)
    received = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with today_is(datetime(2026, 3, 2, 9, 5, tzinfo=UTC)):
        for n, sender in enumerate(spellings):
            process(mail(n, sender), received_at=received)
    confirmations = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert len(confirmations) == 5  # [limits] per_recipient default, across the spellings
    suppressed = [e for e in rows(services, Event) if e.kind == "message.suppressed"]
    assert len(suppressed) == 3
    services.engine.dispose()


def test_an_address_that_only_begins_alike_has_its_own_count(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", transport="directory"))
    process = make_process(services)
    senders = [f"victim+{n}@example.org" for n in range(6)] + ["victimized@example.org"]
    with today_is(datetime(2026, 3, 2, 9, 5, tzinfo=UTC)):
        for n, sender in enumerate(senders):
            process(mail(n, sender), received_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    confirmed = [o.recipients for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert len(confirmed) == 6 and confirmed[-1] == "victimized@example.org"
    services.engine.dispose()
