"""The office told, once, that a case's registration in the protocol register keeps failing
(`[protocol] alert_after_attempts`, `alert_after_hours`): the same channel as a message that
could not be delivered (a notice to the case's office, cases/notices.py), since it is the
office that answers for the case's registration (DPR 445/2000) and knows whom to call. The
registration itself goes on being retried (mailbot/cases/registration.py); the alert is marked
on its row (`alerted_at`) in the transaction that queues the notice, so it leaves once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from mailbot.cases import registration, workorders
from mailbot.cases.messages import office_reply_to, queue
from mailbot.db import unit_of_work
from mailbot.log import get_logger
from mailbot.models import ProtocolRegistration, WorkOrder, utcnow
from mailbot.services import Services

log = get_logger(__name__)

BATCH = 50  # notices a pass queues at most (the next pass goes on)


def run_pass(services: Services) -> registration.PassReport:
    """What the daemon and `run --once` run: the registrations due, then the alerts owed."""
    report = registration.run_due(services)
    report_stuck(services)
    return report


def report_stuck(services: Services, now: datetime | None = None) -> list[str]:
    """Queue one notice to the office of each case whose registration has failed
    `alert_after_attempts` times or waited `alert_after_hours`, not told before; the case
    numbers told."""
    protocol = services.settings.protocol
    now = now or utcnow()
    triggers: list[Any] = []
    if protocol.alert_after_attempts:
        triggers.append(col(ProtocolRegistration.attempts) >= protocol.alert_after_attempts)
    if protocol.alert_after_hours:
        since = now - timedelta(hours=protocol.alert_after_hours)
        triggers.append(col(ProtocolRegistration.created_at) <= since)
    if protocol.adapter == "manual" or not triggers:
        return []
    told: list[str] = []
    with unit_of_work(services.engine) as session:
        stuck = session.exec(
            select(ProtocolRegistration, WorkOrder)
            .join(WorkOrder, col(WorkOrder.id) == ProtocolRegistration.work_order_id)
            .where(ProtocolRegistration.status == registration.PENDING)
            .where(col(ProtocolRegistration.alerted_at).is_(None))
            .where(sa.or_(*triggers))
            .order_by(col(ProtocolRegistration.id))
            .limit(BATCH)
        ).all()
        for row, work_order in stuck:
            row.alerted_at = now
            office = services.settings.offices.get(work_order.office)
            if office is None or work_order.voided_at is not None:
                continue  # nobody to tell: it stays in `mailbot protocol pending`
            notice = services.composer.to_office(
                "protocol_alert",
                number=work_order.number,
                language=work_order.language,
                office=office,
                values={
                    "subject": work_order.subject,
                    "attempts": row.attempts,
                    "since": row.created_at,
                    "last_error": row.last_error,
                },
                reply_to=office_reply_to(services, work_order),
            )
            queue(session, work_order, "notice", notice)
            workorders.case_event(
                session, work_order, "protocol_alerted", "mailbot", attempts=str(row.attempts)
            )
            told.append(work_order.number)
    if told:
        log.warning("office told: protocol registration keeps failing", cases=told)
    return told
