"""`#assegna UFFICIO [motivo]`: a case handed to another office goes with what that office
needs to take it up: the citizen's first message, every attachment the case's inbound mail
brought (past the mail size limits, their list instead), and a covering note of who handed it
over, when, why and from which office. The deadline it shows is the case's own: the case keeps
its term, extensions and pauses when it changes office.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from mailbot.cases import conversation_log, workorders
from mailbot.cases.messages import (
    contact_values,
)
from mailbot.cases.notices import deadline_values, megabytes, to_office
from mailbot.cases.staff import directory
from mailbot.config import LimitSettings, OfficeSettings
from mailbot.models import ConversationMessage, StoredAttachment, WorkOrder, utcnow
from mailbot.services import Services
from mailbot.types import Attachment

# Room kept in a message for its text, headers and MIME parts when attachments are added.
TEXT_ALLOWANCE = 256 * 1024


def hand_over(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    office_id: str,
    actor: str,
    *,
    reason: str = "",
    note: str = "",
) -> None:
    """The case moves to `office_id` (`workorders.assign`, the reason kept in its event) and
    the new office is notified; `note`: what the operator wrote below the command."""
    settings = services.settings
    previous = settings.offices.get(work_order.office)
    new_office = settings.office(office_id)
    covering = {
        "by": _who(services, session, actor),
        "at": utcnow(),
        "reason": reason,
        "note": note,
        "from_office": previous.name if previous is not None else work_order.office,
    }
    workorders.assign(session, work_order, new_office, actor, reason)
    notify_office_of_case(services, session, work_order, new_office, handover=covering)


def _who(services: Services, session: Session, actor: str) -> str:
    """The member's name when the directory knows one, else the address."""
    member = directory(services, session).member(actor)
    return member.name if member is not None and member.name else actor


def notify_office_of_case(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    office: OfficeSettings,
    *,
    handover: dict[str, Any] | None = None,
) -> None:
    """A newly assigned office gets the case as it stands: the citizen's first message, the
    case's attachments and deadline, and the covering note (`handover`)."""
    assert work_order.id is not None
    first = next(
        m for m in conversation_log.conversation(session, work_order.id) if m.direction == "in"
    )
    attached, left_out = case_attachments(services, session, work_order)
    limits = services.settings.limits
    values = {
        **contact_values(session, work_order),
        "received_at": work_order.received_at,
        "body": first.body_text,
        "body_html": first.body_html,
        "other_from": [],
        "name_address": "",
        **deadline_values(services, work_order),
        "handover": handover,
        "left_out": left_out,
        "max_mb": megabytes(limits.max_attachment_bytes),
        "max_message_mb": megabytes(limits.max_message_bytes),
    }
    to_office(services, session, work_order, "notification", values, office=office,
              attachments=attached)  # fmt: skip


def case_attachments(
    services: Services, session: Session, work_order: WorkOrder
) -> tuple[list[Attachment], list[dict[str, Any]]]:
    """Every stored attachment of the case's inbound messages, once each, oldest first: those
    the limits let a message carry, and the list (name, size in MB) of those they do not.
    Attachments a purge removed are gone from the case and are neither."""
    limits = services.settings.limits
    stored = session.exec(
        select(StoredAttachment)
        .join(ConversationMessage, col(ConversationMessage.id) == StoredAttachment.message_id)
        .where(ConversationMessage.work_order_id == work_order.id)
        .where(ConversationMessage.direction == "in")
        .where(StoredAttachment.sha256 != "")
        .order_by(col(StoredAttachment.id))
    ).all()
    budget = limits.max_message_bytes - TEXT_ALLOWANCE
    attached: list[Attachment] = []
    left_out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in stored:
        if item.sha256 in seen:
            continue
        seen.add(item.sha256)
        cost = _encoded_size(item.size)
        if not _fits(item.size, cost, budget, limits):
            left_out.append({"filename": item.filename, "size_mb": megabytes(item.size)})
            continue
        try:
            payload = services.store.get(item.sha256)
        except FileNotFoundError:  # removed from the store behind the database's back
            continue
        budget -= cost
        attached.append(Attachment(item.filename, item.content_type, payload))
    return attached, left_out


def _fits(size: int, cost: int, budget: int, limits: LimitSettings) -> bool:
    return size <= limits.max_attachment_bytes and cost <= budget


def _encoded_size(size: int) -> int:
    """Bytes an attachment takes in a message: base64 (4 for 3) in lines of 76 plus CRLF, and
    its part's headers."""
    encoded = (size + 2) // 3 * 4
    return encoded + encoded // 76 * 2 + 512
