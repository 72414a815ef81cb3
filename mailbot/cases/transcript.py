"""A case's file for the record or an access request: the whole conversation, its attachments
list and its event log as an HTML document or a PDF, or as one email (`.eml`) carrying the HTML
document and every original message, received or sent, byte for byte."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from mailbot.cases import pdf, views, wording, workorders
from mailbot.config import Settings
from mailbot.db import record_event, unit_of_work
from mailbot.models import ConversationMessage, Event, InboundMessage, OutboundMessage
from mailbot.replies import outbox
from mailbot.replies.render import Composed
from mailbot.services import Services
from mailbot.types import deliverable

FORMATS = ("html", "pdf", "eml")


def case_file(
    services: Services, number: str
) -> tuple[str, dict[str, Any], list[dict[str, Any]], list[tuple[str, bytes]]]:
    """(language, summary, events, original messages as (name, bytes)) of one case."""
    tz = services.settings.timezone
    with unit_of_work(services.engine) as session:
        case = views.show_work_order(session, number, tz)
        work_order = workorders.by_number(session, number)
        events = [
            {
                "at": e.at.astimezone(tz).isoformat(timespec="seconds"),
                "kind": e.kind,
                "actor": e.actor,
                "data": json.loads(e.data),
            }
            for e in session.exec(
                select(Event).where(Event.work_order_id == work_order.id).order_by(col(Event.id))
            )
        ]
        originals: list[tuple[str, bytes]] = []
        messages = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == work_order.id)
            .order_by(col(ConversationMessage.id))
        )
        for n, message in enumerate(messages, start=1):
            raw = None
            if message.inbound_id is not None:
                inbound = session.get(InboundMessage, message.inbound_id)
                # An empty digest: removed by `mailbot purge`.
                if inbound is not None and inbound.raw_sha256:
                    raw = services.store.get(inbound.raw_sha256)
            elif message.outbound_id is not None:
                sent = session.get(OutboundMessage, message.outbound_id)
                raw = sent.raw if sent else None
            if raw:
                originals.append((f"{n:02d}-{message.kind}.eml", raw))
    language = work_order.language
    readable(case, events, services.settings, language)
    return language, case, events, originals


CONTACT_WORDS = {
    "it": {"none": "nessun indirizzo e-mail", "phone": "tel.", "cf": "C.F."},
    "en": {"none": "no e-mail address", "phone": "phone", "cf": "tax code"},
}


def readable(
    case: dict[str, Any], events: list[dict[str, Any]], settings: Settings, language: str
) -> None:
    """Add to the view what a reader of the case file sees (`*_text`): statuses, kinds and
    events in words, dates as 11/03/2026 10:15 in local time, the office by name, and a citizen
    with no e-mail address by name, channel, phone and postal address (never the placeholder
    address). The ids and ISO dates stay for machines."""
    tz = settings.timezone
    words = CONTACT_WORDS.get(language, CONTACT_WORDS["it"])
    office = settings.offices.get(case["office"])
    case["office_name"] = office.name if office is not None else case["office"]
    case["status_text"] = wording.label("status", case["status"], language)
    case["opened_text"] = wording.when(wording.parse_iso(case["opened_at"]), tz, language)
    case["due_text"] = wording.when(wording.parse_iso(case["due_at"]), tz, language)
    contact = case["contact"]
    channel = wording.label("channel", case["charter"]["channel"], language)
    parts = [contact["name"] or ""]
    if contact["reachable"]:
        parts[0] = f"{parts[0]} <{contact['email']}>".strip()
    else:
        parts.append(f"{words['none']} ({channel})")
    if contact.get("phone"):
        parts.append(f"{words['phone']} {contact['phone']}")
    if contact.get("postal_address"):
        parts.append(contact["postal_address"])
    if contact.get("codice_fiscale"):
        parts.append(f"{words['cf']} {contact['codice_fiscale']}")
    case["contact_text"] = ", ".join(p for p in parts if p)
    citizen = contact["name"] or words["none"]
    for message in case["messages"]:
        message["kind_text"] = wording.label("message_kind", message["kind"], language)
        message["date_text"] = wording.when(wording.parse_iso(message["date"]), tz, language)
        message["from_text"] = message["from"] if deliverable(message["from"]) else citizen
        message["to_text"] = [a if deliverable(a) else citizen for a in message["to"]]
    for event in events:
        event["at_text"] = wording.when(wording.parse_iso(event["at"]), tz, language)
        event["kind_text"] = wording.label("event", event["kind"], language)


def export(services: Services, number: str, fmt: str, to: str | None = None) -> bytes:
    language, case, events, originals = case_file(services, number)
    if fmt == "html":
        return services.composer.transcript_html(language, case, events).encode()
    if fmt == "pdf":
        return pdf.render(case, events, language, services.composer.institution)
    return _compose(
        services, language=language, case=case, events=events, originals=originals, to=to
    ).raw


def send(services: Services, number: str, address: str, actor: str = "mailbot") -> str:
    """Queue the case file as an email to `address`; returns its Message-ID."""
    language, case, events, originals = case_file(services, number)
    composed = _compose(
        services, language=language, case=case, events=events, originals=originals, to=address
    )
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        outbox.enqueue(
            session,
            composed,
            kind="transcript",
            work_order_id=work_order.id,
        )
        record_event(
            session,
            "work_order.transcript_sent",
            work_order_id=work_order.id,
            actor=actor,
            to=address,
        )
    return composed.message_id


def _compose(
    services: Services,
    *,
    language: str,
    case: dict[str, Any],
    events: list[dict[str, Any]],
    originals: list[tuple[str, bytes]],
    to: str | None,
) -> Composed:
    return services.composer.transcript(
        language=language,
        case=case,
        events=events,
        originals=originals,
        to=to or services.settings.smtp.from_address,
    )
