"""A case's conversation: every message in or out, in order, with its attachments, and the
mark that the office's reasoned reply went out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.cases import refunds, registration
from mailbot.cases.workorders import case_event
from mailbot.config import Settings
from mailbot.models import (
    ConversationMessage,
    StoredAttachment,
    WorkOrder,
    utcnow,
)


def mark_reply_sent(
    session: Session, work_order: WorkOrder, actor: str, settings: Settings
) -> None:
    """The charter's "reasoned reply": the first relayed reply that is neither a question
    (#sospendi) nor an interim message (#interlocutoria) (the caller decides); a late one owes
    the citizen the term's refund, when the charter
    sets one (cases/refunds.py)."""
    if work_order.reasoned_reply_at is None:
        work_order.reasoned_reply_at = utcnow()
        case_event(session, work_order, "reasoned_reply", actor)
        _register_reply(session, work_order, settings)
        if work_order.reasoned_reply_at > work_order.due_at:
            case_event(session, work_order, "late", actor)
            refunds.owe(session, work_order, "late", settings, actor)


def _register_reply(session: Session, work_order: WorkOrder, settings: Settings) -> None:
    """The reasoned reply, just queued, is registered outgoing in the case's file
    (`[protocol] adapter = "command"`, cases/registration.py)."""
    reply = session.exec(
        select(ConversationMessage)
        .where(ConversationMessage.work_order_id == work_order.id)
        .where(ConversationMessage.direction == "out")
        .where(col(ConversationMessage.outbound_id).is_not(None))
        .order_by(col(ConversationMessage.id).desc())
    ).first()
    if reply is not None:
        registration.due(settings, session, work_order, "outgoing", reply.id)


def withdraw_reasoned_reply(session: Session, work_order: WorkOrder, actor: str) -> None:
    """The reply recorded as the reasoned reply was an interim message (`#interlocutoria` alone):
    the case waits for its answer again, and a late-reply refund it caused is withdrawn (the
    real answer, when it comes, owes it again if it is late)."""
    before = work_order.reasoned_reply_at
    work_order.reasoned_reply_at = None
    case_event(
        session,
        work_order,
        "reasoned_reply_withdrawn",
        actor,
        was=before.isoformat() if before else "",
    )
    refunds.withdraw(session, work_order, "late", actor, "the reply was an interim message")


def conversation(session: Session, work_order_id: int) -> list[ConversationMessage]:
    return list(session.exec(_CONVERSATION, params={"work_order_id": work_order_id}))


# Rows the callers keep (and purge deletes): through the ORM, but the statement built once.
_CONVERSATION = (
    select(ConversationMessage)
    .where(col(ConversationMessage.work_order_id) == sa.bindparam("work_order_id"))
    .order_by(col(ConversationMessage.id))
)


def message_ids(session: Session, work_order_id: int, kinds: Sequence[str]) -> tuple[str, ...]:
    """The Message-IDs of the case's messages of `kinds`, in order (a reply's References):
    two columns instead of every row with its bodies, on the session's connection (the rows
    are written with core INSERTs, so there is nothing for an autoflush to write first)."""
    found = session.connection().execute(_MESSAGE_IDS, {"work_order_id": work_order_id})
    return tuple(message_id for kind, message_id in found if kind in kinds and message_id)


_M = ConversationMessage.__table__  # type: ignore[attr-defined]
_MESSAGE_IDS = (
    sa.select(_M.c.kind, _M.c.message_id)
    .where(_M.c.work_order_id == sa.bindparam("work_order_id"))
    .order_by(_M.c.id)
)


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    size: int
    sha256: str


def add_message(
    session: Session,
    work_order: WorkOrder,
    *,
    direction: str,
    kind: str,
    from_address: str,
    to: Sequence[str],
    date: datetime,
    subject: str,
    body_text: str,
    message_id: str | None,
    inbound_id: int | None = None,
    outbound_id: int | None = None,
    attachments: Sequence[NewAttachment] = (),
    body_html: str = "",
    author: str = "",
) -> int:
    """The message's row (and its attachments' rows), written with core INSERTs: three a case,
    and nobody reads them back in the transaction that writes them. Returns the row's id."""
    assert work_order.id is not None
    connection = session.connection()  # no ORM execution layer: nothing of it is needed here
    inserted = connection.execute(
        _INSERT_MESSAGE,
        {
            "work_order_id": work_order.id,
            "direction": direction,
            "kind": kind,
            "from_address": from_address,
            "to_addresses": ", ".join(to),
            "date": date,
            "subject": subject,
            "body_text": body_text,
            "message_id": message_id,
            "inbound_id": inbound_id,
            "outbound_id": outbound_id,
            "body_html": body_html,
            "author": author,
        },
    )
    key = inserted.inserted_primary_key
    assert key is not None
    row_id = int(key[0])
    if attachments:
        connection.execute(
            _INSERT_ATTACHMENT,
            [
                {
                    "message_id": row_id,
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": item.size,
                    "sha256": item.sha256,
                }
                for item in attachments
            ],
        )
    return row_id


_INSERT_MESSAGE = sa.insert(ConversationMessage.__table__)  # type: ignore[attr-defined]
_INSERT_ATTACHMENT = sa.insert(StoredAttachment.__table__)  # type: ignore[attr-defined]
