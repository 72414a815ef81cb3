"""Each office's daily digest: the cases due within `[charter] reminder_days` and the overdue
ones, and the late cases whose missed-term cause the office is asked for, once a case
(cases/missed_terms.py); overdue cases also go to the office's `manager` (escalation). At most
one digest per office per local day, whatever restarts or however many instances run: the
`digest_sent` row, the outbox rows and the "asked" events are written in one transaction, and
the row's primary key refuses a second.

A voided case is in no digest and no escalation. Called by the daemon's outbox loop on every
pass and by `run --once`: cheap when nothing is due (one SELECT per office).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from mailbot.cases import missed_terms
from mailbot.cases.workorders import CLOSED
from mailbot.config import OfficeSettings
from mailbot.db import record_event, unit_of_work
from mailbot.errors import TransientError
from mailbot.log import get_logger
from mailbot.models import DigestSent, InboundMessage, WorkOrder
from mailbot.replies import outbox
from mailbot.services import Services
from mailbot.types import Address, LedgerStatus

log = get_logger(__name__)


def send_digests(
    services: Services, now: datetime, done: set[tuple[str, str]] | None = None
) -> int:
    """Queue today's digest for every office whose digest time has come; returns how many.
    `done`: the (office, day) pairs this process already settled, so that the daemon's loop,
    which calls this every few seconds, opens no transaction for them again."""
    settings = services.settings
    local = now.astimezone(settings.timezone)
    hour, minute = (int(x) for x in settings.charter.digest_time.split(":"))
    if local.time() < time(hour, minute):
        return 0
    day = local.date().isoformat()
    settled = done if done is not None else set()
    sent = 0
    for office in settings.offices.values():
        if (office.id, day) in settled:
            continue
        count = 0
        try:
            with unit_of_work(services.engine) as session:
                if session.get(DigestSent, (office.id, day)) is None:
                    count = _digest(services, session, office, local)
                    session.add(DigestSent(office=office.id, day=day, cases=count))
                    session.flush()  # another instance got there first: IntegrityError
        except IntegrityError:
            pass
        except TransientError:
            raise
        except Exception:  # a broken template must not stop the outbox loop
            log.exception("digest failed", office=office.id)
            continue
        settled.add((office.id, day))
        sent += 1 if count else 0
    return sent


def _digest(services: Services, session: Session, office: OfficeSettings, local: datetime) -> int:
    clock = services.clock
    today = local.date()
    waiting = session.exec(
        select(WorkOrder)
        .where(WorkOrder.office == office.id, WorkOrder.status != CLOSED)
        .where(col(WorkOrder.reasoned_reply_at).is_(None), col(WorkOrder.voided_at).is_(None))
        .order_by(col(WorkOrder.due_at), col(WorkOrder.id))
    )
    due_soon: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    for wo in waiting:
        left = (clock.local_day(wo.due_at) - today).days
        item = {
            "number": wo.number,
            "subject": wo.subject,
            "due_at": wo.due_at,
            "days_left": left,
            "status": wo.status,
        }
        if left < 0:
            overdue.append(item)
        elif left <= services.settings.charter.reminder_days:
            due_soon.append(item)
    spam = _held_as_spam(services, session, office, local)
    ask = missed_terms.to_ask(session, services.settings, office.id, local)
    if not due_soon and not overdue and not spam and not ask:
        return 0
    values = {"due_soon": due_soon, "overdue": overdue, "day": local, "spam_held": spam,
              "cause_asked": missed_terms.items(services.settings, ask)}  # fmt: skip
    missed_terms.mark_asked(session, ask, office.id)
    language = services.settings.language
    recipients = [("digest", Address(office.name, office.email))]
    if overdue and office.manager:
        recipients.append(("escalation", Address("", office.manager)))
    for kind, to in recipients:
        composed = services.composer.office_report(
            kind, language=language, office=office, to=to, values=values
        )
        outbox.enqueue(
            session,
            composed,
            kind=kind,
            work_order_id=None,
        )
    record_event(
        session,
        "office.digest",
        office=office.id,
        due_soon=[i["number"] for i in due_soon],
        overdue=[i["number"] for i in overdue],
        escalated=bool(overdue and office.manager),
        cause_asked=[wo.number for wo in ask],
    )
    log.info(
        "digest queued",
        office=office.id,
        due_soon=len(due_soon),
        overdue=len(overdue),
        spam_held=spam,
    )
    return len(due_soon) + len(overdue) + spam + len(ask)


def _held_as_spam(
    services: Services, session: Session, office: OfficeSettings, local: datetime
) -> int:
    """Messages to the office's mailboxes held as spam in the day before the digest."""
    boxes = [m.name for m in services.settings.mailboxes if m.office == office.id]
    if not boxes:
        return 0
    since = local - timedelta(days=1)
    query = (
        select(sa.func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.status == LedgerStatus.SPAM, col(InboundMessage.mailbox).in_(boxes))
        .where(col(InboundMessage.received_at) >= since)
    )
    return int(session.exec(query).one())
