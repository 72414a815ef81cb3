"""Voiding a case opened in error (an operator's mail taken for a citizen's, a duplicate): it
keeps its number and its row ("annullata" in the register, left out of the statistics, the
numbering gap-free); nothing more is sent for it. The flows ask `is_void` before acting.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col

from mailbot.cases.workorders import by_number, case_event
from mailbot.db import unit_of_work
from mailbot.errors import InputError
from mailbot.models import OutboundMessage, WorkOrder, utcnow
from mailbot.services import Services

CANCELLED = "cancelled"  # an outbox row of a voided case, never sent


def void_case(services: Services, number: str, reason: str, actor: str) -> str:
    """An admin voids a case opened in error (an operator's mail taken for a citizen's, a
    duplicate): it keeps its number and row ("annullata" in the register, left out of the
    statistics), nothing more is sent for it and its queued mail is cancelled. Returns what
    happened, for the admin."""
    why = " ".join(reason.split())
    if not why:
        raise InputError("--reason: say why the case is voided (it is kept in the register)")
    with unit_of_work(services.engine) as session:
        work_order = by_number(session, number)
        if work_order.voided_at is not None:
            raise InputError(f"{number} is already void ({work_order.void_reason})")
        work_order.void_reason, work_order.voided_by = why, actor
        work_order.voided_at = utcnow()
        cancelled = session.execute(
            sa.update(OutboundMessage)
            .where(col(OutboundMessage.work_order_id) == work_order.id)
            .where(col(OutboundMessage.status) == "pending")
            .values(status=CANCELLED, last_error=f"case voided: {why}")
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        case_event(session, work_order, "voided", actor, reason=why, cancelled=str(cancelled))
    return f"{number}: voided ({why}); {cancelled} queued message(s) cancelled"


def is_void(work_order: WorkOrder) -> bool:
    return work_order.voided_at is not None
