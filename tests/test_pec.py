"""PEC messages built from the specification (FORMAT.md) for the types with no public sample:
receipts never open a case or get an answer, envelopes open a case for the certified sender,
anomalies are processed as ordinary unverified mail (or as the bounce they carry)."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP

import pytest

from mailbot.ingest import pec
from mailbot.models import Event, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from conftest import fixture_bytes, rows

PROVIDER = "posta-certificata@pec.example-provider.it"


def daticert(
    tipo: str, mittente: str, errore: str = "nessuno", consegna: str = "", extra: str = ""
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{tipo}" errore="{errore}">
  <intestazione>
    <mittente>{mittente}</mittente>
    <destinatari tipo="certificato">suggerimenti@pec.comune.example.it</destinatari>
    <risposte>{mittente}</risposte>
    <oggetto>Segnalazione</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Gestore di prova</gestore-emittente>
    <data zona="+0100"><giorno>02/03/2026</giorno><ora>09:15:00</ora></data>
    <identificativo>opec1.20260302091500.1@pec.example-provider.it</identificativo>
    <msgid>&lt;original-1@pec.example.it&gt;</msgid>
    {f"<consegna>{consegna}</consegna>" if consegna else ""}
    {extra}
  </dati>
</postacert>""".encode()


def provider_message(
    header: str,
    value: str,
    subject: str,
    datixml: bytes | None,
    inner: bytes | None,
    sender_label: str = "",
) -> bytes:
    mixed = MIMEMultipart("mixed")
    mixed.attach(MIMEText("Messaggio del gestore di posta certificata.", "plain", "utf-8"))
    if datixml is not None:
        mixed.attach(MIMEApplication(datixml, "xml", Name="daticert.xml"))
    if inner is not None:
        from email import message_from_bytes

        part = MIMEMessage(message_from_bytes(inner))
        part.set_param("name", "postacert.eml")
        mixed.attach(part)
    signed = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256")
    signed.attach(mixed)
    signed.attach(MIMEApplication(b"not a real signature", "pkcs7-signature", Name="smime.p7s"))
    signed["From"] = f'"{sender_label}" <{PROVIDER}>' if sender_label else PROVIDER
    signed["To"] = "suggerimenti@comune.example.it"
    signed["Subject"] = subject
    signed["Message-ID"] = f"<opec-{header}-{value}@pec.example-provider.it>"
    signed[header] = value
    signed["X-Riferimento-Message-ID"] = "<original-1@pec.example.it>"
    return signed.as_bytes(policy=SMTP)


def citizen_inner(sender: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Lucia Neri <{sender}>"
    msg["To"] = "suggerimenti@pec.comune.example.it"
    msg["Subject"] = "Rumore notturno dal cantiere"
    msg["Message-ID"] = "<original-1@pec.example.it>"
    msg.set_content("Il cantiere di via Po lavora anche di notte.")
    return msg.as_bytes()


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
