"""The office is asked, once a case, why a term was missed (issue 33, item 3): the cases of an
office whose term has passed, unanswered or answered late, with no cause recorded
(`#causa`, `workorders cause`, the back office: cases/indemnity.py), become a section of the
office's daily digest (cases/reminders.py), which says how to answer. Each case is asked
once: the `missed_term.cause_asked` event, written in the digest's own transaction, says it
was. A suspended case (its clock stands still) or a voided one is not asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.cases.workorders import SUSPENDED
from mailbot.config import Settings
from mailbot.db import record_event
from mailbot.models import Event, WorkOrder

ASKED = "missed_term.cause_asked"


def to_ask(session: Session, settings: Settings, office: str, now: datetime) -> list[WorkOrder]:
    """The office's late cases without a cause that were never asked for one, oldest term
    first."""
    late = sa.or_(
        col(WorkOrder.reasoned_reply_at).is_(None),
        col(WorkOrder.reasoned_reply_at) > col(WorkOrder.due_at),
    )
    asked = select(Event.work_order_id).where(
        Event.kind == ASKED, col(Event.work_order_id).is_not(None)
    )
    query = (
        select(WorkOrder)
        .where(WorkOrder.office == office, col(WorkOrder.due_at) < now, late)
        .where(WorkOrder.missed_term_cause == "", col(WorkOrder.voided_at).is_(None))
        .where(WorkOrder.status != SUSPENDED, col(WorkOrder.id).not_in(asked))
        .order_by(col(WorkOrder.due_at), col(WorkOrder.id))
    )
    return list(session.exec(query))


def items(settings: Settings, cases: list[WorkOrder]) -> list[dict[str, Any]]:
    """What the digest shows of each case (no personal data: number, subject, dates)."""
    return [
        {
            "number": wo.number,
            "subject": wo.subject,
            "due_at": wo.due_at,
            "replied_at": wo.reasoned_reply_at,
            "case_url": settings.backoffice.case_url(wo.number),
        }
        for wo in cases
    ]


def mark_asked(session: Session, cases: list[WorkOrder], office: str) -> None:
    for wo in cases:
        record_event(session, ASKED, work_order_id=wo.id, office=office)
