"""PEC samples from ../shared/corpus/pec: each is classified by its headers, envelopes open
cases for the certified sender, receipts and robots never cause an outgoing message."""

from __future__ import annotations

import pytest

from mailbot.ingest import pec
from mailbot.models import Event, InboundMessage, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from .test_corpus import CORPUS
from support.app import rows

PEC_DIR = CORPUS / "pec"
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not PEC_DIR.is_dir(), reason=f"PEC samples not found at {PEC_DIR}"),
]

EXPECTED = {
    "A01_accettazione_oca-fatturapa.eml": ("accettazione", "receipt"),
    "A02_avvenuta-consegna_completa_oca-fatturapa.eml": ("avvenuta-consegna", "receipt"),
    "A03_posta-certificata_sdi-invio-file_original.eml": (
        "posta-certificata",
        "ignored",
    ),  # SdI robot
    "A04_posta-certificata_reply_oca-pec-messages.eml": ("posta-certificata", "filed"),
    "A05_posta-certificata_sdi-invio-file_broken-xml_whitespace-stripped.eml": (
        "posta-certificata",
        "ignored",
    ),
    "A06_errore-consegna_anonymized_unsigned.eml": ("errore-consegna", "receipt"),
    "A07_accettazione_anonymized_unsigned.eml": ("accettazione", "receipt"),
    "A08_non-pec_gmail-dsn-failure.eml": (None, "bounce"),
    "A11_avvenuta-consegna_synthetic-example.eml": ("avvenuta-consegna", "receipt"),
}


def test_every_sample_is_classified_by_its_headers():
    for name, (kind, _) in EXPECTED.items():
        detected = pec.detect((PEC_DIR / name).read_bytes())
        assert (detected.kind if detected else None) == kind, name


def test_samples_through_the_pipeline(services, process):
    for name, (_, status) in EXPECTED.items():
        outcome = process((PEC_DIR / name).read_bytes())
        assert outcome.status == LedgerStatus(status), (name, outcome)
    [case] = rows(services, WorkOrder)
    sent = rows(services, OutboundMessage)
    # Only A04 opened a case, for its certified sender, never the provider's address.
    assert {o.recipients for o in sent} == {"thinkstudio@pec.it", "urp@comune.example.it"}
    assert not any("posta-certificata@" in o.recipients for o in sent)
    events = {e.kind for e in rows(services, Event)}
    assert {
        "pec.accettazione",
        "pec.avvenuta-consegna",
        "pec.errore-consegna",
        "pec.posta-certificata",
    } <= events
    assert case.subject  # opened from the inner message


def test_receipts_link_to_the_message_they_certify(services, process):
    # A01 and A02 are the acceptance and delivery of one message: pretend we sent it.
    process("citizen_plain.eml")
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    msgid = pec.detect((PEC_DIR / "A01_accettazione_oca-fatturapa.eml").read_bytes()).reference
    from sqlmodel import Session

    with Session(services.engine) as session:
        row = session.get(OutboundMessage, confirmation.id)
        row.message_id = msgid
        session.add(row)
        session.commit()
    before = len(rows(services, OutboundMessage))
    for name in (
        "A01_accettazione_oca-fatturapa.eml",
        "A02_avvenuta-consegna_completa_oca-fatturapa.eml",
    ):
        outcome = process((PEC_DIR / name).read_bytes())
        assert outcome.status == LedgerStatus.RECEIPT and "about <" in outcome.reason
    linked = [e for e in rows(services, Event) if e.kind.startswith("pec.") and e.work_order_id]
    assert len(linked) == 2
    assert len(rows(services, OutboundMessage)) == before  # no receipt is ever answered
    receipts = [r for r in rows(services, InboundMessage) if r.status == "receipt"]
    assert all(r.work_order_id == confirmation.work_order_id for r in receipts)


def signature_of(services, kind: str) -> list[str]:
    import json

    return [json.loads(e.data)["signature"] for e in rows(services, Event) if e.kind == kind]


def test_provider_signatures(services, process):
    from mailbot.models import Contact

    process((PEC_DIR / "A04_posta-certificata_reply_oca-pec-messages.eml").read_bytes())
    assert signature_of(services, "pec.posta-certificata") == ["valid"]
    [contact] = rows(services, Contact)
    assert contact.email == "thinkstudio@pec.it" and contact.pec_verified
    # A05 is A03 with whitespace stripped and a byte changed (same Message-ID: the ledger
    # processes only one of them), so check the samples' signatures directly.
    verdicts = {
        name: pec.verify((PEC_DIR / name).read_bytes()).result
        for name in (
            "A01_accettazione_oca-fatturapa.eml",
            "A03_posta-certificata_sdi-invio-file_original.eml",
            "A05_posta-certificata_sdi-invio-file_broken-xml_whitespace-stripped.eml",
            "A06_errore-consegna_anonymized_unsigned.eml",
            "A11_avvenuta-consegna_synthetic-example.eml",
        )
    }
    assert verdicts == {
        "A01_accettazione_oca-fatturapa.eml": "valid",
        "A03_posta-certificata_sdi-invio-file_original.eml": "valid",
        "A05_posta-certificata_sdi-invio-file_broken-xml_whitespace-stripped.eml": "invalid",
        "A06_errore-consegna_anonymized_unsigned.eml": "unchecked",
        "A11_avvenuta-consegna_synthetic-example.eml": "invalid",
    }
