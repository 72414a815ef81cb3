"""What `Segnatura.xml` says of a case, read from the database and the store: the protocol
number recorded with `#protocollo` and its date (the register's own, when the command adapter
registered it; else when it was recorded on the case), the subject, the sender, and the citizen's
original message with its attachments, each with the SHA-256 of the bytes as stored."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from mailbot.errors import InputError, NotFoundError
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    InboundMessage,
    ProtocolRegistration,
    StoredAttachment,
    Taxpayer,
    WorkOrder,
)
from mailbot.storage import Store
from mailbot.types import MatchState, deliverable

# `#protocollo` takes what the operator types: the register's number, alone or with its year.
_NUMBER = re.compile(r"(?:prot(?:ocollo)?\.?\s*(?:n\.?\s*)?)?(\d{1,12})(?:\s*[/-]\s*(\d{4}))?")
_YEAR_FIRST = re.compile(r"(\d{4})\s*[/-]\s*(\d{1,12})")
_CF = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_OWN = frozenset({MatchState.LINKED, MatchState.CONFIRMED})


@dataclass(frozen=True)
class Document:
    filename: str
    mime_type: str
    sha256: bytes  # the digest itself (32 bytes)
    description: str = ""


@dataclass(frozen=True)
class Sender:
    first_name: str
    last_name: str
    codice_fiscale: str  # "" unless the case is linked to a person of the registry
    email: str  # "" for a citizen with no address (counter, post, phone)
    pec: bool
    phone: str


@dataclass(frozen=True)
class CaseDocuments:
    work_order_id: int
    case_number: str
    protocol_number: str  # seven digits at least, as the schema's NumeroRegistrazione
    # The registration's moment: the register's date (it gives no time: None), or the local
    # time the number was recorded on the case by hand.
    registered_on: date
    registered_time: time | None
    subject: str
    category: str
    sender: Sender
    main: Document
    attachments: tuple[Document, ...]


def gather(session: Session, store: Store, number: str, tz: ZoneInfo) -> CaseDocuments:
    """The case's incoming document. InputError when it has no protocol number or no stored
    original; NotFoundError for an unknown case."""
    wo = session.exec(select(WorkOrder).where(WorkOrder.number == number)).first()
    if wo is None or wo.id is None:
        raise NotFoundError(f"no work order {number}")
    if wo.purged_at is not None:
        raise InputError(f"work order {number}: purged, its original is no longer held")
    recorded = [n for n in wo.protocollo.split(", ") if n]
    if not recorded:
        raise InputError(
            f"work order {number} has no protocol number: Segnatura.xml needs the number and "
            "date of its registration (schema: NumeroRegistrazione, DataRegistrazione). Record "
            f"it with `mailbot workorders protocollo {number} NUMERO --operator ADDRESS` or by "
            "mail with `#protocollo NUMERO`, then export again"
        )
    at = _recorded_at(session, wo.id, recorded[0]) or wo.received_at
    local = at.astimezone(tz)
    by_register = _register_date(session, wo.id, recorded[0])
    first = session.exec(
        select(ConversationMessage)
        .where(ConversationMessage.work_order_id == wo.id, ConversationMessage.direction == "in")
        .order_by(col(ConversationMessage.id))
    ).first()
    inbound = session.get(InboundMessage, first.inbound_id) if first and first.inbound_id else None
    if first is None or inbound is None:
        raise InputError(
            f"work order {number} has no original message stored (opened at a desk or by "
            "the web form): Segnatura.xml describes a received message"
        )
    main = _stored(
        store, inbound.raw_sha256, f"{number.replace('/', '-')}.eml", "message/rfc822",
        "Messaggio originale ricevuto",
    )  # fmt: skip
    rows = session.exec(
        select(StoredAttachment)
        .where(StoredAttachment.message_id == first.id)
        .order_by(col(StoredAttachment.id))
    )
    attachments = tuple(_stored(store, a.sha256, a.filename, a.content_type) for a in rows)
    return CaseDocuments(
        work_order_id=wo.id,
        case_number=number,
        protocol_number=_register_number(recorded[0], (by_register or local).year),
        registered_on=by_register or local.date(),
        registered_time=None if by_register else local.timetz(),
        subject=wo.subject or first.subject,
        category=wo.category,
        sender=_sender(session, wo),
        main=main,
        attachments=attachments,
    )


def _register_date(session: Session, work_order_id: int, numero: str) -> date | None:
    """The date the protocol system gave `numero` (the adapter's answer), if it gave it."""
    row = session.exec(
        select(ProtocolRegistration)
        .where(ProtocolRegistration.work_order_id == work_order_id)
        .where(ProtocolRegistration.status == "done", ProtocolRegistration.numero == numero)
        .order_by(col(ProtocolRegistration.id))
    ).first()
    return date.fromisoformat(row.data) if row is not None and row.data else None


def _recorded_at(session: Session, work_order_id: int, protocollo: str) -> datetime | None:
    events = session.exec(
        select(Event)
        .where(Event.work_order_id == work_order_id, Event.kind == "work_order.protocollo")
        .order_by(col(Event.id))
    )
    for event in events:
        if json.loads(event.data).get("number") == protocollo:
            return event.at
    return None


def _register_number(recorded: str, year: int) -> str:
    """`0012345`, `12345`, `12345/2026`, `2026/12345`, `prot. n. 12345`: the number of the
    register, padded to the schema's seven digits."""
    text = recorded.strip()
    year_first = _YEAR_FIRST.fullmatch(text)
    found = _NUMBER.fullmatch(text.lower())
    # `2026/4711` recorded in January 2027 is still year first: a year is near the date.
    if year_first and (found is None or abs(int(year_first.group(1)) - year) <= 1):
        return year_first.group(2).zfill(7)
    if found is None:
        raise InputError(
            f"protocol number {recorded!r} is not a number of the register (digits, optionally "
            "with the year: 12345, 0012345/2026): correct it with `#protocollo`"
        )
    return found.group(1).zfill(7)


def _stored(store: Store, digest: str, filename: str, mime: str, description: str = "") -> Document:
    """The SHA-256 of the bytes as they are in the store now, not as the database remembers
    them: a damaged object is refused rather than described with the digest it should have."""
    try:
        with store.path(digest).open("rb") as fh:
            actual = hashlib.file_digest(fh, "sha256")
    except OSError as exc:
        raise InputError(f"{filename}: the stored copy cannot be read: {exc.strerror}") from None
    if actual.hexdigest() != digest:
        raise InputError(f"{filename}: the stored copy does not match its digest (damaged)")
    return Document(filename, mime or "application/octet-stream", actual.digest(), description)


def _sender(session: Session, wo: WorkOrder) -> Sender:
    contact = session.get(Contact, wo.contact_id)
    taxpayer = session.get(Taxpayer, wo.taxpayer_id) if wo.taxpayer_id else None
    trusted = taxpayer is not None and wo.match_state in _OWN
    name = (taxpayer.name if trusted and taxpayer else "") or (contact.name if contact else "")
    first, _, last = " ".join(name.split()).partition(" ")
    code = taxpayer.codice_fiscale.upper() if trusted and taxpayer else ""
    email = contact.email if contact and deliverable(contact.email) else ""
    return Sender(
        first_name=first,
        last_name=last,
        codice_fiscale=code if _CF.fullmatch(code) else "",
        email=email,
        pec=bool(contact and contact.pec_verified and email),
        phone=contact.phone if contact else "",
    )
