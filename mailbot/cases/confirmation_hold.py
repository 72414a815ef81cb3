"""The citizen's confirmation held for the protocol number (`[protocol] wait_seconds`, with the
command adapter). Intake queues the confirmation as always, in the message's own transaction,
but not due before `held_until`, and keeps on the case's registration row which outbox row it
is and what the letter was composed from (`letter`, JSON). The registration pass, once it has
the number, composes the letter again with "Protocollo n. … del …" (the same Message-ID: the
same letter) and makes the row due now (`fill`); when the attempt failed, it makes the row due
now as it is (`release`). Either is one UPDATE that applies only while the row is pending and
still held as intake left it (`next_attempt_at = held_until`): once the hold has passed, a
sender's claim moves `next_attempt_at` and the letter leaves as first composed, without the
number. One outbox row, one letter, whichever comes first; the case never waits for it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from mailbot.cases import workorders
from mailbot.errors import MailbotError
from mailbot.log import get_logger
from mailbot.models import (
    ConversationMessage,
    OutboundMessage,
    ProtocolRegistration,
    WorkOrder,
    utcnow,
)
from mailbot.protocol.adapter import Registration
from mailbot.replies.render import Composed
from mailbot.services import Services
from mailbot.types import Address

log = get_logger(__name__)

_TIMES = ("received_at", "due_at")


def hold(
    row: ProtocolRegistration,
    outbound_id: int,
    held_until: datetime,
    letter: dict[str, Any],
    composed: Composed,
) -> None:
    """In intake's transaction: the confirmation `outbound_id` (queued not before `held_until`)
    waits for `row`'s number; `letter`: the keyword arguments it was composed with."""
    saved = {
        **letter,
        "citizen": [letter["citizen"].name, letter["citizen"].email],
        "office": letter["office"].id,
        "references": list(letter["references"]),
        "refused": [list(item) for item in letter["refused"]],
        "message_id": composed.message_id,
        **{key: letter[key].isoformat() for key in _TIMES},
    }
    row.confirmation_id, row.held_until = outbound_id, held_until
    row.letter = json.dumps(saved, ensure_ascii=False)


def fill(
    services: Services,
    session: Session,
    row: ProtocolRegistration,
    work_order: WorkOrder,
    answer: Registration,
) -> bool:
    """The number came in time: the held confirmation, composed again with it, is due now.
    False (the letter leaves as it was) when the hold has passed or it cannot be composed."""
    if row.confirmation_id is None or row.held_until is None:
        return False
    try:
        composed = services.composer.confirmation(
            **_arguments(services, row.letter), protocollo=(answer.numero, answer.data)
        )
    except (MailbotError, KeyError, ValueError) as exc:  # an office gone after a reload…
        log.warning("confirmation not composed again", case=work_order.number, error=str(exc))
        return release(session, row)
    filled = _settle(session, row, raw=composed.raw)
    if filled:
        session.execute(
            sa.update(ConversationMessage)
            .where(col(ConversationMessage.outbound_id) == row.confirmation_id)
            .values(body_text=composed.text)
        )
        workorders.case_event(
            session, work_order, "confirmation_numbered", "protocol", number=answer.numero
        )
    return filled


def release(session: Session, row: ProtocolRegistration) -> bool:
    """The attempt failed: the held confirmation need not wait any longer, it is due now."""
    if row.confirmation_id is None or row.held_until is None:
        return False
    return _settle(session, row)


def _settle(session: Session, row: ProtocolRegistration, **values: Any) -> bool:
    done = session.execute(
        sa.update(OutboundMessage)
        .where(col(OutboundMessage.id) == row.confirmation_id)
        .where(col(OutboundMessage.status) == "pending")
        .where(col(OutboundMessage.next_attempt_at) == row.held_until)  # not claimed meanwhile
        .values(next_attempt_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    row.held_until, row.letter = None, ""
    return int(done.rowcount) == 1  # type: ignore[attr-defined]


def _arguments(services: Services, text: str) -> dict[str, Any]:
    saved = json.loads(text)
    name, email = saved["citizen"]
    return {
        **saved,
        "citizen": Address(name, email),
        "office": services.settings.office(saved["office"]),
        "references": tuple(saved["references"]),
        "refused": [tuple(item) for item in saved["refused"]],
        **{key: datetime.fromisoformat(saved[key]) for key in _TIMES},
    }
