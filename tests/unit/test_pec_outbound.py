"""Answering certified mail by PEC (issue 5, parts 4 and 6): what a citizen who wrote by PEC
gets leaves through the mailbox's own PEC account; the provider's receipts, really signed by a
test provider certificate and checked against it as the CA bundle, move each message's PEC
state, tell the office of a failure once, and let the citizen's PEC reply thread on the
identifier the provider gave our message."""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, datetime
from email.policy import default

import pytest
from sqlmodel import Session

from mailbot.cases.operator import operator_action
from mailbot.cases.views import show_work_order
from mailbot.models import Contact, OutboundMessage, PecReceipt, WorkOrder
from mailbot.replies.delivery import deliver_pending
from mailbot.replies.sender import make_transport
from mailbot.types import LedgerStatus

from support.app import make_process, make_services, rows, write_config
from support.pec import BOX, Signer, envelope, receipt

CITIZEN = "lucia.neri@pec.example.it"
PROVIDER_ID = "opec210.20261201101500.12345.01@pec.comune-provider.it"


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return Signer(tmp_path_factory.mktemp("provider"))


@pytest.fixture
def pec_services(tmp_path, signer):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        mailbox={
            "source": "maildir",
            "path": str(tmp_path / "maildir"),
            "address": BOX,
            "pec": True,
        },
        mailbox_smtp={"host": "127.0.0.1", "port": 2525, "from_address": BOX},
        extra=f'[pec]\nca_bundle = "{signer.cert}"\n',
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


@pytest.fixture
def pec_process(pec_services):
    return make_process(pec_services)


def now():
    return datetime.now(UTC)


def send_all(services):
    """One outbox pass (directory transport: each account writes its own files)."""
    settings = services.settings
    return asyncio.run(deliver_pending(services.engine, settings, make_transport(settings)))


def outbound(services, kind):
    return [o for o in rows(services, OutboundMessage) if o.kind == kind]


def opened_case(services, process, signer):
    """A citizen's signed certified message opens a case; its confirmation is handed over."""
    assert process(envelope(signer, CITIZEN, when=now())).status == LedgerStatus.FILED
    report = send_all(services)
    assert report.sent == 2 and not report.errors
    [confirmation] = outbound(services, "confirmation")
    return confirmation


def arrive_receipt(process, signer, tipo, about, **kwargs):
    kwargs.setdefault("identificativo", PROVIDER_ID)
    outcome = process(receipt(signer, tipo, about=about, when=now(), **kwargs))
    assert outcome.status == LedgerStatus.RECEIPT, outcome
    return outcome


def test_answers_to_a_certified_citizen_leave_through_the_pec_account(
    pec_services, pec_process, signer
):
    confirmation = opened_case(pec_services, pec_process, signer)
    [notification] = outbound(pec_services, "notification")
    assert (confirmation.account, confirmation.pec_state) == ("suggerimenti", "sent")
    assert (notification.account, notification.pec_state) == ("", None)  # the office: [smtp]
    sent = email.message_from_bytes(confirmation.raw, policy=default)
    assert sent["From"].addresses[0].addr_spec == BOX == confirmation.envelope_from
    for header in ("Bcc", "Disposition-Notification-To", "Return-Receipt-To"):
        assert header not in sent
    # The directory transport says which account each file went through.
    files = pec_services.settings.outbox.directory.glob("*.eml")
    written = [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]
    by_account = {m["X-Envelope-Account"]: m["X-Envelope-To"] for m in written}
    assert by_account == {"suggerimenti": CITIZEN, None: "urp@comune.example.it"}
    # Valid provider signature, chain checked against the bundle, sender == inner From.
    [contact] = rows(pec_services, Contact)
    assert contact.email == CITIZEN and contact.pec_verified


def test_receipts_move_the_pec_state_and_show_in_the_case(pec_services, pec_process, signer):
    confirmation = opened_case(pec_services, pec_process, signer)
    before = len(rows(pec_services, OutboundMessage))
    arrive_receipt(pec_process, signer, "accettazione", confirmation.message_id)
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == "accepted" and row.pec_provider_id == PROVIDER_ID
    arrive_receipt(
        pec_process, signer, "avvenuta-consegna", confirmation.message_id, recipient=CITIZEN
    )
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == "delivered"
    assert len(rows(pec_services, OutboundMessage)) == before  # receipts are never answered
    [case] = rows(pec_services, WorkOrder)
    with Session(pec_services.engine) as session:
        shown = show_work_order(session, case.number, pec_services.settings.timezone)
    [sent] = [m for m in shown["messages"] if m["kind"] == "confirmation"]
    assert sent["pec"]["state"] == "delivered"
    assert sent["pec"]["provider_id"] == PROVIDER_ID
    receipts = sent["pec"]["receipts"]
    assert [r["type"] for r in receipts] == ["accettazione", "avvenuta-consegna"]
    assert receipts[1]["recipient"] == CITIZEN and receipts[1]["error"] is None
    assert all(r["signature"] == "valid" and r["date"] for r in receipts)
    notification = next(m for m in shown["messages"] if m["kind"] == "notification")
    assert "pec" not in notification  # sent through [smtp]: no PEC state


def test_citizen_reply_to_the_provider_id_threads_into_the_case(pec_services, pec_process, signer):
    confirmation = opened_case(pec_services, pec_process, signer)
    arrive_receipt(pec_process, signer, "accettazione", confirmation.message_id)
    # The citizen's client saw the provider's identifier, never our Message-ID, and the
    # subject carries no tag.
    reply = envelope(
        signer,
        CITIZEN,
        when=now(),
        message_id="<reply-2@pec.example.it>",
        subject="Re: ancora rumore",
        body="Stanotte di nuovo.",
        in_reply_to=f"<{PROVIDER_ID}>",
    )
    outcome = pec_process(reply)
    assert outcome.status == LedgerStatus.THREADED, outcome
    [case] = rows(pec_services, WorkOrder)
    assert outcome.work_order_number == case.number
    assert len(outbound(pec_services, "forward")) == 1


@pytest.mark.parametrize(
    ("tipo", "errore", "errore_esteso", "state"),
    [
        ("errore-consegna", "no-dest", "5.1.1 - casella inesistente", "failed"),
        ("preavviso-errore-consegna", "altro", "5.4.1 - destinatario irraggiungibile", "failed"),
        ("rilevazione-virus", "virus", "virus rilevato", "failed"),
        ("non-accettazione", "altro", "destinatario non valido", "not_accepted"),
    ],
)
def test_a_delivery_failure_tells_the_office_once(
    pec_services, pec_process, signer, tipo, errore, errore_esteso, state
):
    confirmation = opened_case(pec_services, pec_process, signer)
    if tipo != "non-accettazione":
        arrive_receipt(pec_process, signer, "accettazione", confirmation.message_id)
    kwargs = {"recipient": CITIZEN, "errore": errore}
    arrive_receipt(
        pec_process, signer, tipo, confirmation.message_id, errore_esteso=errore_esteso, **kwargs
    )
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == state
    [notice] = outbound(pec_services, "notice")
    assert notice.recipients == "urp@comune.example.it" and notice.account == ""
    body = email.message_from_bytes(notice.raw, policy=default).get_body(("plain",))
    assert errore_esteso in body.get_content()
    # The provider repeats itself: recorded again, the office is not told twice.
    arrive_receipt(
        pec_process,
        signer,
        tipo,
        confirmation.message_id,
        errore_esteso=errore_esteso + ".",
        **kwargs,
    )
    assert len(outbound(pec_services, "notice")) == 1
    assert len(rows(pec_services, PecReceipt)) == (3 if tipo != "non-accettazione" else 2)


def test_a_warning_without_5_4_1_decides_nothing_yet(pec_services, pec_process, signer):
    confirmation = opened_case(pec_services, pec_process, signer)
    arrive_receipt(pec_process, signer, "accettazione", confirmation.message_id)
    arrive_receipt(
        pec_process,
        signer,
        "preavviso-errore-consegna",
        confirmation.message_id,
        recipient=CITIZEN,
        errore_esteso="4.4.7 - consegna ritardata",
    )
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == "accepted" and not outbound(pec_services, "notice")


def test_delivered_only_when_every_recipient_has_its_receipt(pec_services, pec_process, signer):
    confirmation = opened_case(pec_services, pec_process, signer)
    arrive_receipt(pec_process, signer, "accettazione", confirmation.message_id)
    arrive_receipt(
        pec_process, signer, "avvenuta-consegna", confirmation.message_id, recipient="altro@pec.it"
    )
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == "accepted"  # a receipt for someone else delivers nothing of ours


def test_a_receipt_whose_signature_fails_proves_nothing(pec_services, pec_process, signer):
    confirmation = opened_case(pec_services, pec_process, signer)
    forged = receipt(
        None,  # a fake signature part
        "errore-consegna",
        about=confirmation.message_id,
        identificativo=PROVIDER_ID,
        recipient=CITIZEN,
        errore="no-dest",
        when=now(),
    )
    outcome = pec_process(forged)
    assert outcome.status == LedgerStatus.RECEIPT and "not applied" in (outcome.reason or "")
    [row] = outbound(pec_services, "confirmation")
    assert row.pec_state == "sent" and not outbound(pec_services, "notice")
    [kept] = rows(pec_services, PecReceipt)
    assert kept.signature == "invalid"  # kept as evidence all the same


def test_operator_replies_leave_through_the_pec_account(pec_services, pec_process, signer):
    opened_case(pec_services, pec_process, signer)
    [case] = rows(pec_services, WorkOrder)
    operator_action(
        pec_services, case.number, "mario.rossi@comune.example.it", "La risposta dell'ufficio."
    )
    [relay] = outbound(pec_services, "relay")
    assert (relay.account, relay.pec_state, relay.envelope_from) == ("suggerimenti", "queued", BOX)
    assert relay.recipients == CITIZEN
