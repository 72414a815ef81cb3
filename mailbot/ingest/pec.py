"""Certified mail (PEC): what a provider's message is, and what it certifies.

Classified only by the top-level headers (`X-Trasporto`, `X-Ricevuta`), never by subject.
`daticert.xml` and `postacert.eml` are taken only from the *direct* children of the signed
part (a forwarded PEC or a bounce inside an anomaly carries nested ones that belong to someone
else). daticert is read leniently: any encoding its declaration or BOM says, stray text,
values with newlines, an XML-escaped msgid; with defusedxml, as it comes from outside.
See ../shared/corpus/pec/FORMAT.md for the formats and the decision table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree

from mailbot.types import Address

ENVELOPE = "posta-certificata"
ANOMALY = "errore"
RECEIPTS = (
    "accettazione",
    "non-accettazione",
    "presa-in-carico",
    "avvenuta-consegna",
    "errore-consegna",
    "preavviso-errore-consegna",
    "rilevazione-virus",
)
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Daticert:
    tipo: str
    errore: str
    mittente: str
    destinatari: tuple[str, ...]
    risposte: str
    oggetto: str
    gestore: str
    data: datetime | None
    identificativo: str
    msgid: str | None
    consegna: str
    errore_esteso: str


@dataclass(frozen=True)
class Pec:
    kind: str  # "posta-certificata", "errore" (anomaly), or a receipt type
    daticert: Daticert | None
    inner: bytes | None  # postacert.eml, as transported
    reference: str | None  # the original Message-ID a receipt is about

    @property
    def is_receipt(self) -> bool:
        return self.kind in RECEIPTS

    @property
    def sender(self) -> str | None:
        """The certified sender of an envelope (daticert mittente), when it is an address."""
        if self.daticert and "@" in self.daticert.mittente:
            return self.daticert.mittente.strip().lower()
        return None


_HEADERS = BytesParser(policy=compat32)


def _header_block(raw: bytes) -> bytes:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


def detect(raw: bytes) -> Pec | None:
    """None when the message carries no PEC header: it is ordinary mail."""
    head = _HEADERS.parsebytes(_header_block(raw), headersonly=True)  # ordinary mail: enough
    if not _header(head, "X-Trasporto") and not _header(head, "X-Ricevuta"):
        return None
    message = message_from_bytes(raw, policy=compat32)
    transport = _header(message, "X-Trasporto")
    receipt = _header(message, "X-Ricevuta")
    kind = receipt if receipt else transport
    daticert_bytes, inner = _certified_parts(message)
    daticert = parse_daticert(daticert_bytes) if daticert_bytes else None
    reference = _first_msgid(_header(message, "X-Riferimento-Message-ID"))
    if reference is None and daticert is not None:
        reference = daticert.msgid
    return Pec(kind=kind, daticert=daticert, inner=inner, reference=reference)


def _header(message: Message, name: str) -> str:
    return str(message.get(name, "")).strip().lower()


def _first_msgid(value: str) -> str | None:
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _certified_parts(message: Message) -> tuple[bytes | None, bytes | None]:
    """(daticert.xml, postacert.eml) among the direct children of the signed content."""
    content: Message = message
    if message.get_content_type() == "multipart/signed":
        payload = message.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            content = payload[0]
    children = content.get_payload() if content.is_multipart() else []
    if not isinstance(children, list):
        return None, None
    daticert: bytes | None = None
    inner: bytes | None = None
    rfc822: list[Message] = []
    for child in children:
        if not isinstance(child, Message):
            continue
        param = child.get_param("name")
        name = (child.get_filename() or (param if isinstance(param, str) else "") or "").lower()
        if name == "daticert.xml" or (
            not daticert and child.get_content_type() == "application/xml"
        ):
            data = child.get_payload(decode=True)
            daticert = data if isinstance(data, bytes) else None
        elif child.get_content_type() == "message/rfc822":
            rfc822.append(child)
            if name == "postacert.eml":
                inner = _message_bytes(child)
    if inner is None and len(rfc822) == 1:
        inner = _message_bytes(rfc822[0])
    return daticert, inner


def _message_bytes(part: Message) -> bytes | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0].as_bytes()
    return None


def parse_daticert(data: bytes) -> Daticert | None:
    try:
        root = SafeElementTree.fromstring(data)
    except Exception:
        return None

    def text(path: str) -> str:
        found = root.find(path)
        return " ".join((found.text or "").split()) if found is not None else ""

    msgid = _first_msgid(text("dati/msgid").replace("&lt;", "<").replace("&gt;", ">"))
    return Daticert(
        tipo=(root.get("tipo") or "").strip(),
        errore=(root.get("errore") or "nessuno").strip(),
        mittente=text("intestazione/mittente"),
        destinatari=tuple(
            " ".join((d.text or "").split()) for d in root.findall("intestazione/destinatari")
        ),
        risposte=text("intestazione/risposte"),
        oggetto=text("intestazione/oggetto"),
        gestore=text("dati/gestore-emittente"),
        data=_data(root.find("dati/data")),
        identificativo=text("dati/identificativo"),
        msgid=msgid,
        consegna=text("dati/consegna"),
        errore_esteso=text("dati/errore-esteso"),
    )


def _data(element: Element | None) -> datetime | None:
    if element is None:
        return None
    day = " ".join((element.findtext("giorno") or "").split())
    hour = " ".join((element.findtext("ora") or "").split())
    zone = (element.get("zona") or "+0000").strip()
    try:
        local = datetime.strptime(f"{day} {hour}", "%d/%m/%Y %H:%M:%S")
        sign = -1 if zone.startswith("-") else 1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    except ValueError:
        return None
    return local.replace(tzinfo=timezone(offset))


@dataclass(frozen=True)
class SignatureCheck:
    result: str  # "valid", "invalid" or "unchecked"
    reason: str


def verify(
    raw: bytes, ca_bundle: Path | None = None, signed_at: datetime | None = None
) -> SignatureCheck:
    """The provider's S/MIME signature over the exact bytes received. Without a CA bundle only
    the signature is checked (it matches the content and the certificate it carries); with
    one, the chain too, at the signing time (provider certificates expire, the proof stays)."""
    message = message_from_bytes(raw, policy=compat32)
    payload = message.get_payload() if message.get_content_type() == "multipart/signed" else None
    if not isinstance(payload, list) or len(payload) < 2:
        return SignatureCheck("unchecked", "no signature part")
    openssl = shutil.which("openssl")
    if openssl is None:
        return SignatureCheck("unchecked", "openssl is not installed")
    command = [openssl, "smime", "-verify", "-inform", "SMIME", "-out", os.devnull]
    if ca_bundle is None:
        command.append("-noverify")
    else:
        command += ["-CAfile", str(ca_bundle), "-purpose", "any"]
        if signed_at is not None:
            command += ["-attime", str(int(signed_at.timestamp()))]
    try:
        done = subprocess.run(command, input=raw, capture_output=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SignatureCheck("unchecked", f"openssl could not run: {exc}")
    if done.returncode == 0:
        return SignatureCheck(
            "valid", "chain and signature" if ca_bundle else "signature (no chain check)"
        )
    errors = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    detail = next(
        (e.split(":")[-1] for e in errors if "routines" in e), errors[0] if errors else ""
    )
    return SignatureCheck("invalid", detail.strip()[:300] or f"openssl exit {done.returncode}")


def certified_from(certified: Pec, declared: Address | None) -> Address | None:
    """The sender a case is about when the mail came certified: an envelope's daticert
    mittente (certified by the sender's provider, never the provider's posta-certificata@
    address), with the display name the inner From declared; None for an anomaly, whose inner
    From is declared, not certified. The pipeline and `rematch` both decide by this."""
    if certified.kind != ENVELOPE or not certified.sender:
        return None
    return Address(declared.name if declared else "", certified.sender)
