"""Issue 5 end to end on real servers: a certified message arrives in a PEC box on Dovecot, the
case opens for the certified sender, the confirmation leaves through the box's own PEC account
(a second SMTP server, standing for the provider's), the provider's signed acceptance and
delivery receipts arrive, are linked and shown by `workorders show`, nothing answers them, and
the citizen's PEC reply, referencing the provider's identifier, threads into the case."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from email.policy import default

import pytest

from support.app import IMAP_PASSWORD, imap_mailbox, run_cli, write_config
from support.pec import BOX, Signer, envelope, receipt
from support.servers import SmtpServer

pytestmark = pytest.mark.integration

CITIZEN = "lucia.neri@pec.example.it"
OFFICE = "urp@comune.example.it"
PROVIDER_ID = "opec210.20261201101500.777.01@pec.comune-provider.it"


@pytest.fixture
def pec_relay():
    """The PEC provider's submission server: a separate account from [smtp]."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def test_pec_case_receipts_and_reply_end_to_end(tmp_path, dovecot, imap_user, smtp, pec_relay):
    signer = Signer(tmp_path / "provider")
    config = write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(dovecot.port, imap_user, address=BOX, pec=True),
        mailbox_smtp={"host": "127.0.0.1", "port": pec_relay.port, "from_address": BOX},
        extra=f'[pec]\nca_bundle = "{signer.cert}"\n',
    )

    def arrives(raw: bytes) -> None:
        dovecot.append(imap_user, IMAP_PASSWORD, [raw])

    def run_once() -> None:
        result = run_cli("--config", str(config), "run", "--once")
        assert result.returncode == 0, result.stderr

    def cases() -> list[dict]:
        listed = run_cli("--config", str(config), "workorders", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        return json.loads(listed.stdout)

    def show() -> dict:
        [case] = cases()  # never a second case: not for a receipt, not for her reply
        result = run_cli("--config", str(config), "workorders", "show", case["number"], "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    # 1. A citizen writes by PEC: the case is hers (not the provider's posta-certificata@).
    arrives(envelope(signer, CITIZEN, when=_now()))
    run_once()
    [confirmation] = pec_relay.received
    assert confirmation.rcpt_tos == [CITIZEN] and confirmation.mail_from == BOX
    sent = email.message_from_bytes(confirmation.data, policy=default)
    assert "Bcc" not in sent and "Disposition-Notification-To" not in sent
    case = show()
    number = case["number"]
    assert sent["Subject"].startswith(f"[Pratica {number}]")
    [notification] = smtp.received  # the office is told through [smtp], not by PEC
    assert notification.rcpt_tos == [OFFICE]
    assert case["contact"]["email"] == CITIZEN
    [mine] = [m for m in case["messages"] if m["kind"] == "confirmation"]
    assert mine["pec"]["state"] == "sent" and mine["pec"]["receipts"] == []

    # 2. The provider accepts it and the citizen's provider delivers it.
    ours = sent["Message-ID"].strip()
    arrives(receipt(signer, "accettazione", about=ours, identificativo=PROVIDER_ID, when=_now()))
    arrives(
        receipt(
            signer,
            "avvenuta-consegna",
            about=ours,
            identificativo=PROVIDER_ID,
            recipient=CITIZEN,
            when=_now(),
        )
    )
    run_once()
    assert len(pec_relay.received) == 1 and len(smtp.received) == 1  # receipts get no answer
    [mine] = [m for m in show()["messages"] if m["kind"] == "confirmation"]
    assert mine["pec"]["state"] == "delivered"
    assert mine["pec"]["provider_id"] == PROVIDER_ID
    assert [(r["type"], r["signature"]) for r in mine["pec"]["receipts"]] == [
        ("accettazione", "valid"),
        ("avvenuta-consegna", "valid"),
    ]
    text = run_cli("--config", str(config), "workorders", "show", number).stdout
    assert f"[PEC] delivered id {PROVIDER_ID}" in text
    assert "[PEC] avvenuta-consegna" in text and CITIZEN in text

    # 3. She answers by PEC; her client references the provider's identifier only.
    arrives(
        envelope(
            signer,
            CITIZEN,
            when=_now(),
            message_id="<risposta-2@pec.example.it>",
            subject="Re: POSTA CERTIFICATA: la vostra risposta",
            body="Il rumore continua anche stanotte.",
            in_reply_to=f"<{PROVIDER_ID}>",
        )
    )
    run_once()
    case = show()
    followup = [m for m in case["messages"] if m["kind"] == "citizen_followup"]
    assert len(followup) == 1 and "stanotte" in followup[0]["body_text"]
    assert [r.rcpt_tos for r in smtp.received[1:]] == [[OFFICE]]  # forwarded to the office


def _now() -> datetime:
    return datetime.now(UTC)
