"""PEC messages built from the specification (../shared/corpus/pec/FORMAT.md), signed for real
by a test provider certificate made with openssl: envelopes, every receipt and notice."""

from __future__ import annotations

import hashlib
import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from pathlib import Path

from support import clock

PROVIDER = "posta-certificata@pec.example-provider.it"
BOX = "suggerimenti@pec.comune.example.it"


class Signer:
    """A PEC provider's signing certificate (self-signed: the suite has no chain to check)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.key = directory / "provider.key"
        self.cert = directory / "provider.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
                "-subj",
                "/CN=Posta Certificata Gestore di Prova",
                "-addext",
                f"subjectAltName=email:{PROVIDER}",
                "-days",
                "9125",
            ],
            check=True,
            capture_output=True,
            # Valid from 2020 to 2045 whatever day the suite runs and whatever day a test
            # states: a signature is checked at its signing time.
            env={**os.environ, **clock.faketime_env(datetime(2020, 1, 1, tzinfo=UTC))},
        )

    def sign(self, entity: bytes) -> bytes:
        """multipart/signed over `entity` (a MIME part with its headers), as a provider
        emits it: the outer headers are added by the caller, outside the signature."""
        done = subprocess.run(
            ["openssl", "smime", "-sign", "-signer", str(self.cert), "-inkey", str(self.key)],
            input=entity,
            check=True,
            capture_output=True,
        )
        return done.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _tag(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def daticert(
    tipo: str,
    mittente: str,
    errore: str = "nessuno",
    consegna: str = "",
    extra: str = "",
    *,
    identificativo: str = "opec1.20260302091500.1@pec.example-provider.it",
    msgid: str = "<original-1@pec.example.it>",
    destinatari: str = BOX,
    when: datetime | None = None,
) -> bytes:
    """`when`: the certified time (default 2 March 2026 09:15 +0100)."""
    local = (when or datetime(2026, 3, 2, 8, 15, tzinfo=UTC)).astimezone(
        timezone(timedelta(hours=1))
    )
    day, hour = local.strftime("%d/%m/%Y"), local.strftime("%H:%M:%S")
    escaped = msgid.replace("<", "&lt;").replace(">", "&gt;")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="{tipo}" errore="{errore}">
  <intestazione>
    <mittente>{mittente}</mittente>
    <destinatari tipo="certificato">{destinatari}</destinatari>
    <risposte>{mittente}</risposte>
    <oggetto>Segnalazione</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Gestore di prova</gestore-emittente>
    <data zona="+0100"><giorno>{day}</giorno><ora>{hour}</ora></data>
    <identificativo>{identificativo}</identificativo>
    <msgid>{escaped}</msgid>
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
    *,
    signer: Signer | None = None,
    reference: str = "<original-1@pec.example.it>",
    to: str = BOX,
    message_id: str = "",
) -> bytes:
    """A provider's message: with `signer`, really signed; without, a fake signature part."""
    mixed = MIMEMultipart("mixed")
    mixed.attach(MIMEText("Messaggio del gestore di posta certificata.", "plain", "utf-8"))
    if datixml is not None:
        mixed.attach(MIMEApplication(datixml, "xml", Name="daticert.xml"))
    if inner is not None:
        part = MIMEMessage(message_from_bytes(inner))
        part.set_param("name", "postacert.eml")
        mixed.attach(part)
    headers = {
        "From": f'"{sender_label}" <{PROVIDER}>' if sender_label else PROVIDER,
        "To": to,
        "Subject": subject,
        "Message-ID": message_id or f"<opec-{header}-{value}@pec.example-provider.it>",
        header: value,
        "X-Riferimento-Message-ID": reference,
    }
    if signer is not None:
        outer = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        return outer + signer.sign(mixed.as_bytes(policy=SMTP))
    signed = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256")
    signed.attach(mixed)
    signed.attach(MIMEApplication(b"not a real signature", "pkcs7-signature", Name="smime.p7s"))
    for k, v in headers.items():
        signed[k] = v
    return signed.as_bytes(policy=SMTP)


def citizen_inner(
    sender: str,
    *,
    message_id: str = "<original-1@pec.example.it>",
    subject: str = "Rumore notturno dal cantiere",
    body: str = "Il cantiere di via Po lavora anche di notte.",
    in_reply_to: str = "",
) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Lucia Neri <{sender}>"
    msg["To"] = BOX
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


def envelope(
    signer: Signer | None, sender: str, *, when: datetime | None = None, **inner: str
) -> bytes:
    """A certified message (busta di trasporto) from `sender`, as our box receives it."""
    raw_inner = citizen_inner(sender, **inner)
    message_id = inner.get("message_id", "<original-1@pec.example.it>")
    return provider_message(
        "X-Trasporto",
        "posta-certificata",
        "POSTA CERTIFICATA: " + inner.get("subject", "Rumore notturno dal cantiere"),
        daticert("posta-certificata", sender, msgid=message_id, when=when),
        raw_inner,
        sender_label=f"Per conto di: {sender}",
        signer=signer,
        reference=message_id,
        message_id=f"<opec-in-{_tag(message_id)}@pec.example-provider.it>",
    )


def receipt(
    signer: Signer | None,
    tipo: str,
    *,
    about: str,
    identificativo: str,
    recipient: str = "",
    errore: str = "nessuno",
    errore_esteso: str = "",
    to: str = BOX,
    when: datetime | None = None,
) -> bytes:
    """A receipt or notice about our message `about` (its Message-ID)."""
    extra = f"<errore-esteso>{errore_esteso}</errore-esteso>" if errore_esteso else ""
    return provider_message(
        "X-Ricevuta",
        tipo,
        f"{tipo.upper()}: [Pratica] Segnalazione",
        daticert(
            tipo,
            to,
            errore,
            consegna=recipient,
            extra=extra,
            identificativo=identificativo,
            msgid=about,
            destinatari=recipient or "lucia.neri@pec.example.it",
            when=when,
        ),
        None,
        signer=signer,
        reference=about,
        to=to,
        message_id=f"<opec-r-{tipo}-{_tag(about, recipient, errore_esteso)}@pec.example-provider.it>",
    )
