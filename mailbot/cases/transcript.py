"""A case's file for the record or an access request: the whole conversation, its attachments
list and its event log as an HTML document or a PDF, or as one email (`.eml`) carrying the HTML
document and every original message, received or sent, byte for byte."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from mailbot.cases import pdf, views, workorders
from mailbot.db import record_event, unit_of_work
from mailbot.models import ConversationMessage, Event, InboundMessage, OutboundMessage
from mailbot.replies import outbox
from mailbot.replies.render import Composed
from mailbot.services import Services

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
    return work_order.language, case, events, originals


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
