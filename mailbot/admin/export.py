"""An access request (GDPR art. 15): `export_person` writes a ZIP with `data.json` (registry
entry, contacts, cases, messages, attachments list, what was sent and the audit events) and,
per case, the case file (HTML) and every original message; it records a `contact.exported`
event. Only the person's own cases: strangers' claims to their address are listed apart,
without content.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from mailbot.cases import transcript
from mailbot.cases.conversation_log import conversation
from mailbot.db import record_event, unit_of_work
from mailbot.errors import NotFoundError
from mailbot.matching.codes import normalise_code
from mailbot.models import (
    Contact,
    Event,
    OutboundMessage,
    StoredAttachment,
    Taxpayer,
    TaxpayerAddress,
    WorkOrder,
    utcnow,
)
from mailbot.services import Services
from mailbot.types import MatchState, deliverable, normalise_address


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


_OWN = frozenset({MatchState.LINKED, MatchState.UNVERIFIED, MatchState.CONFIRMED})


def export_person(services: Services, who: str, actor: str = "mailbot") -> tuple[bytes, str]:
    """Everything held about the person with this address, phone number (a citizen who came at
    the counter or phoned) or codice fiscale / partita IVA:
    (ZIP bytes, a one-line summary). NotFoundError when nothing is held."""
    with unit_of_work(services.engine) as session:
        taxpayer, contacts = _find_person(session, who)
        contact_ids = [c.id for c in contacts]
        found = list(
            session.exec(
                select(WorkOrder)
                .where(
                    or_(
                        col(WorkOrder.contact_id).in_(contact_ids),
                        col(WorkOrder.taxpayer_id) == (taxpayer.id if taxpayer else -1),
                    )
                )
                .order_by(col(WorkOrder.id))
            )
        )
        # A case is the person's own when they wrote it, or when the link to them is trusted;
        # a stranger who typed their codice fiscale made a claim: listed, never shown.
        cases = [wo for wo in found if wo.contact_id in contact_ids or wo.match_state in _OWN]
        claims = [wo for wo in found if wo not in cases]
        data: dict[str, Any] = {
            "request": who,
            "exported_at": _iso(utcnow()),
            "taxpayer": _taxpayer(session, taxpayer) if taxpayer else None,
            "contacts": [
                {
                    "email": c.email if deliverable(c.email) else None,
                    "name": c.name,
                    "phone": c.phone or None,
                    "pec_verified": c.pec_verified,
                    "first_seen": _iso(c.created_at),
                }
                for c in contacts
            ],
            "cases": [_case(session, wo) for wo in cases],
            "unconfirmed_claims": [
                {
                    "number": wo.number,
                    "received_at": _iso(wo.received_at),
                    "match_state": wo.match_state,
                    "note": "a sender named this person (a code in the message); not shown",
                }
                for wo in claims
            ],
        }
    files: list[tuple[str, bytes]] = []
    for wo in cases:
        folder = f"cases/{wo.number.replace('/', '-')}"
        if wo.purged_at is None:
            files.append((f"{folder}/case.html", transcript.export(services, wo.number, "html")))
        for name, raw in transcript.case_file(services, wo.number)[3]:
            files.append((f"{folder}/{name}", raw))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        for name, raw in files:
            archive.writestr(name, raw)
    with unit_of_work(services.engine) as session:
        record_event(
            session,
            "contact.exported",
            actor=actor,
            contacts=len(contacts),
            taxpayer=taxpayer is not None,
            cases=len(cases),
        )
        for wo in cases:
            record_event(session, "work_order.exported", work_order_id=wo.id, actor=actor)
    summary = f"{len(contacts)} contact(s), {len(cases)} case(s), {len(files)} file(s)" + (
        f", {len(claims)} unconfirmed claim(s) listed without content" if claims else ""
    )
    return buffer.getvalue(), summary


def _find_person(session: Session, who: str) -> tuple[Taxpayer | None, list[Contact]]:
    code = normalise_code(who)
    taxpayer: Taxpayer | None = None
    contacts: list[Contact] = []
    if code is not None:
        taxpayer = session.exec(select(Taxpayer).where(Taxpayer.codice_fiscale == code)).first()
        if taxpayer is not None:
            contacts = list(session.exec(select(Contact).where(Contact.taxpayer_id == taxpayer.id)))
    elif not _looks_like_phone(who):
        address = normalise_address(who)
        contact = session.exec(select(Contact).where(Contact.email == address)).first()
        contacts = [contact] if contact else []
        if contact is not None and contact.taxpayer_id is not None:
            taxpayer = session.get(Taxpayer, contact.taxpayer_id)
        if taxpayer is None:
            registered = session.exec(
                select(TaxpayerAddress).where(TaxpayerAddress.address == address)
            ).first()
            taxpayer = session.get(Taxpayer, registered.taxpayer_id) if registered else None
    if taxpayer is None and not contacts and _looks_like_phone(who):
        # Eleven digits can pass for a partita IVA: a number is looked up as a phone as well.
        contacts = _by_phone(session, who)
        linked = {c.taxpayer_id for c in contacts if c.taxpayer_id is not None}
        taxpayer = session.get(Taxpayer, linked.pop()) if len(linked) == 1 else None
    if taxpayer is None and not contacts:
        raise NotFoundError(
            f"nothing is held about {who!r} (no contact, phone number or registry entry)"
        )
    return taxpayer, contacts


def _by_phone(session: Session, who: str) -> list[Contact]:
    wanted = _phone_digits(who)
    given = session.exec(select(Contact).where(Contact.phone != "").order_by(col(Contact.id)))
    return [c for c in given if _phone_digits(c.phone) == wanted]


_PHONE = re.compile(r"^\+?[\d\s./()-]{6,}$")


def _looks_like_phone(who: str) -> bool:
    return "@" not in who and bool(_PHONE.match(who.strip()))


def _phone_digits(phone: str) -> str:
    """+39 0471 123456, 0039 0471/123456 and 0471123456 are one number: the digits, without
    Italy's country code."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+") and digits.startswith("39"):
        return digits[2:]
    if digits.startswith("0039"):
        return digits[4:]
    return digits


def _taxpayer(session: Session, taxpayer: Taxpayer) -> dict[str, Any]:
    addresses = session.exec(
        select(TaxpayerAddress).where(TaxpayerAddress.taxpayer_id == taxpayer.id)
    )
    return {
        "codice_fiscale": taxpayer.codice_fiscale,
        "name": taxpayer.name,
        "postal_address": taxpayer.postal_address,
        "addresses": [{"address": a.address, "kind": a.kind} for a in addresses],
        "removed_from_registry": _iso(taxpayer.removed_at),
    }


def _case(session: Session, wo: WorkOrder) -> dict[str, Any]:
    messages = conversation(session, wo.id) if wo.id is not None else []
    sent = session.exec(select(OutboundMessage).where(OutboundMessage.work_order_id == wo.id))
    events = session.exec(select(Event).where(Event.work_order_id == wo.id).order_by(col(Event.id)))
    return {
        "number": wo.number,
        "status": wo.status,
        "office": wo.office,
        "subject": wo.subject,
        "channel": wo.channel,
        "postal_address": wo.postal_address or None,
        "category": wo.category,
        "received_at": _iso(wo.received_at),
        "due_at": _iso(wo.due_at),
        "closed_at": _iso(wo.closed_at),
        "purged_at": _iso(wo.purged_at),
        "protocollo": wo.protocollo,
        "satisfaction": wo.satisfaction,
        "matched_by": wo.match_rule,
        "messages": [
            {
                "direction": m.direction,
                "kind": m.kind,
                "date": _iso(m.date),
                "from": m.from_address,
                "to": m.to_addresses,
                "subject": m.subject,
                "text": m.body_text,
                "attachments": [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                    for a in session.exec(
                        select(StoredAttachment).where(StoredAttachment.message_id == m.id)
                    )
                ],
            }
            for m in messages
        ],
        "sent": [
            {"kind": s.kind, "to": s.recipients, "status": s.status, "sent_at": _iso(s.sent_at)}
            for s in sent
        ],
        "events": [
            {"at": _iso(e.at), "kind": e.kind, "actor": e.actor, "data": json.loads(e.data)}
            for e in events
        ],
    }
