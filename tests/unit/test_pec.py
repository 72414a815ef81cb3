"""PEC messages built from the specification (FORMAT.md) for the types with no public sample:
receipts never open a case or get an answer, envelopes open a case for the certified sender,
anomalies are processed as ordinary unverified mail (or as the bounce they carry)."""

from __future__ import annotations

import pytest

from mailbot.ingest import pec
from mailbot.models import Event, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from support.app import fixture_bytes, rows
from support.pec import citizen_inner, daticert, provider_message


@pytest.mark.parametrize(
    ("tipo", "errore", "extra"),
    [
        ("non-accettazione", "altro", ""),
        ("non-accettazione", "virus", ""),
        ("presa-in-carico", "nessuno", "<ricezione>lucia.neri@pec.example.it</ricezione>"),
        ("preavviso-errore-consegna", "nessuno", "<errore-esteso>5.4.1 - timeout</errore-esteso>"),
        ("rilevazione-virus", "virus", ""),
        (
            "errore-consegna",
            "no-dest",
            "<errore-esteso>5.1.1 - indirizzo non valido</errore-esteso>",
        ),
    ],
)
def test_receipts_and_notices_never_open_a_case_or_get_an_answer(
    services, process, tipo, errore, extra
):
    raw = provider_message(
        "X-Ricevuta",
        tipo,
        f"AVVISO: {tipo}",
        daticert(tipo, "s@pec.comune.example.it", errore, extra=extra),
        None,
    )
    assert pec.detect(raw).kind == tipo
    outcome = process(raw)
    assert outcome.status == LedgerStatus.RECEIPT
    assert rows(services, WorkOrder) == [] and rows(services, OutboundMessage) == []
    assert f"pec.{tipo}" in {e.kind for e in rows(services, Event)}


def test_envelope_opens_a_case_for_the_certified_sender(services, process):
    inner = citizen_inner("lucia.neri@pec.example.it")
    raw = provider_message(
        "X-Trasporto",
        "posta-certificata",
        "POSTA CERTIFICATA: Rumore notturno dal cantiere",
        daticert("posta-certificata", "lucia.neri@pec.example.it"),
        inner,
        sender_label="Per conto di: lucia.neri@pec.example.it",
    )
    assert process(raw).status == LedgerStatus.FILED
    [case] = rows(services, WorkOrder)
    assert case.subject == "Rumore notturno dal cantiere"  # the inner subject, no provider prefix
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    assert confirmation.recipients == "lucia.neri@pec.example.it"
    [event] = [e for e in rows(services, Event) if e.kind == "pec.posta-certificata"]
    assert '"matches": true' in event.data
    # The fixture's signature is fake: processed all the same, but never PEC-verified.
    assert '"signature": "invalid"' in event.data and '"verified": false' in event.data
    from mailbot.models import Contact

    assert not rows(services, Contact)[0].pec_verified


def test_certified_sender_wins_over_a_different_inner_from(services, process):
    inner = citizen_inner("someone.else@example.org")
    raw = provider_message(
        "X-Trasporto",
        "posta-certificata",
        "POSTA CERTIFICATA: x",
        daticert("posta-certificata", "lucia.neri@pec.example.it"),
        inner,
    )
    process(raw)
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    assert confirmation.recipients == "lucia.neri@pec.example.it"
    [event] = [e for e in rows(services, Event) if e.kind == "pec.posta-certificata"]
    assert '"matches": false' in event.data


def test_anomaly_with_ordinary_mail_inside_is_processed_as_ordinary_mail(services, process):
    raw = provider_message(
        "X-Trasporto",
        "errore",
        "ANOMALIA MESSAGGIO: Rumore",
        None,
        citizen_inner("lucia@example.org"),
    )
    assert process(raw).status == LedgerStatus.FILED
    assert (
        next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation").recipients
        == "lucia@example.org"
    )


def test_anomaly_with_a_bounce_inside_is_never_answered(services, process):
    raw = provider_message(
        "X-Trasporto",
        "errore",
        "ANOMALIA MESSAGGIO: Undelivered Mail Returned to Sender",
        None,
        fixture_bytes("bounce_mailer_daemon.eml"),
    )
    assert process(raw).status == LedgerStatus.BOUNCE
    assert rows(services, OutboundMessage) == []
