"""Registration in the protocol register by an adapter (`[protocol] adapter = "command"`),
crash-safe and never in a case's way. Intake only records that a registration is due (`due`, a
row in the message's own transaction). The pass (`run_due`: the daemon's outbox loop, `run
--once`, `mailbot protocol retry`) claims a due row in a short transaction of its own (the
claim moves its next attempt past the program's timeout, so a second instance leaves it alone),
runs the adapter with no transaction open, then records the number as `#protocollo` does
(`workorders.set_protocollo`, the same event) or the error with the next attempt, backing off
from a minute to six hours. A crash between the program's answer and the record makes at most
one duplicate registration, which `request_id` in metadata.json lets the program recognise.
When mailbot stops (`stopping`) the running program is ended and its row is due again at once,
the attempt not counted: the next start tries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from mailbot import db
from mailbot.cases import confirmation_hold, workorders
from mailbot.config import Settings
from mailbot.log import get_logger
from mailbot.models import ProtocolRegistration, WorkOrder, utcnow
from mailbot.protocol.adapter import (
    INCOMING,
    OUTGOING,
    AdapterError,
    Interrupted,
    RegisterAdapter,
    make_adapter,
)
from mailbot.protocol.submission import incoming, outgoing
from mailbot.replies.render import Composed
from mailbot.services import Services

log = get_logger(__name__)

PENDING, DONE = "pending", "done"
ACTOR = "protocol"  # who recorded the number, in the event
FIRST_RETRY, LAST_RETRY = timedelta(minutes=1), timedelta(hours=6)
BATCH = 20  # rows a pass tries at most (the next pass goes on)


@dataclass
class PassReport:
    registered: list[str] = field(default_factory=list)  # case numbers
    failed: dict[str, str] = field(default_factory=dict)  # case number → error


def due(
    settings: Settings,
    session: Session,
    work_order: WorkOrder,
    kind: str = INCOMING,
    message_id: int | None = None,
) -> ProtocolRegistration | None:
    """In the caller's transaction (intake's; the reply's): a document waits for the register.
    `message_id`: the reply's conversation message (an incoming one is the case's first)."""
    if settings.protocol.adapter == "manual":
        return None
    assert work_order.id is not None
    row = ProtocolRegistration(work_order_id=work_order.id, kind=kind, message_id=message_id)
    session.add(row)
    workorders.case_event(session, work_order, "protocol_due", "mailbot", document=kind)
    return row


def confirmation_held_until(
    settings: Settings, row: ProtocolRegistration | None
) -> datetime | None:
    """Until when a new case's confirmation waits for `row`'s number (`[protocol]
    wait_seconds`, mailbot/cases/confirmation_hold.py); None: it leaves at once."""
    wait = settings.protocol.wait_seconds
    return utcnow() + timedelta(seconds=wait) if row is not None and wait else None


def hold_confirmation(
    row: ProtocolRegistration,
    outbound_id: int,
    held_until: datetime,
    letter: dict[str, Any],
    composed: Composed,
) -> None:
    """In intake's transaction: the confirmation queued as `outbound_id` waits for `row`."""
    confirmation_hold.hold(row, outbound_id, held_until, letter, composed)


def backoff(attempts: int) -> timedelta:
    step: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20)
    return min(step, LAST_RETRY)


def run_due(
    services: Services,
    now: datetime | None = None,
    stopping: Callable[[], bool] | None = None,
) -> PassReport:
    """The rows due now, a batch; `stopping`: true once mailbot stops (the pass ends there)."""
    report = PassReport()
    adapter = make_adapter(services.settings.protocol, stopping)
    if adapter is None:
        return report
    now = now or utcnow()
    first = aliased(ProtocolRegistration)  # a reply waits for its case's incoming
    incoming_pending = (
        select(first.id)
        .where(first.work_order_id == ProtocolRegistration.work_order_id)
        .where(first.kind == INCOMING, first.status == PENDING)
        .exists()
    )
    with db.read_only(services.engine) as session:
        ids = session.exec(
            select(ProtocolRegistration.id)
            .where(ProtocolRegistration.status == PENDING)
            .where(col(ProtocolRegistration.next_attempt_at) <= now)
            .where(sa.or_(col(ProtocolRegistration.kind) == INCOMING, ~incoming_pending))
            .order_by(  # a confirmation waiting for its number first
                col(ProtocolRegistration.held_until).is_(None),
                col(ProtocolRegistration.next_attempt_at),
                col(ProtocolRegistration.id),
            )
            .limit(BATCH)
        ).all()
    for row_id in ids:
        if stopping is not None and stopping():
            break
        if row_id is not None:
            _attempt(services, adapter, row_id, now, report)
    return report


def _attempt(
    services: Services, adapter: RegisterAdapter, row_id: int, now: datetime, report: PassReport
) -> None:
    hold = now + timedelta(seconds=services.settings.protocol.timeout_seconds + 60)
    with db.unit_of_work(services.engine) as session:  # the claim
        claimed = session.execute(
            sa.update(ProtocolRegistration)
            .where(col(ProtocolRegistration.id) == row_id)
            .where(col(ProtocolRegistration.status) == PENDING)
            .where(col(ProtocolRegistration.next_attempt_at) <= now)
            .values(next_attempt_at=hold, attempts=col(ProtocolRegistration.attempts) + 1)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return
        row = session.get(ProtocolRegistration, row_id)
        work_order = session.get(WorkOrder, row.work_order_id) if row else None
        if row is None or work_order is None:
            return
        number, attempts = work_order.number, row.attempts
        tz = services.settings.timezone
        request = f"mailbot-{row_id}"
        try:
            if row.kind == OUTGOING and row.message_id is not None:
                submission = outgoing(
                    session, services.store, work_order, row.message_id, request_id=request, tz=tz
                )
            else:
                submission = incoming(session, services.store, work_order, request, tz)
        except AdapterError as exc:
            submission, error = None, str(exc)
    answer = None
    if submission is not None:
        try:
            answer = adapter.register(submission)  # no transaction open meanwhile
        except Interrupted:
            _release_claim(services, row_id, number)
            return
        except AdapterError as exc:
            error = str(exc)
    with db.unit_of_work(services.engine) as session:
        row = session.get(ProtocolRegistration, row_id)
        work_order = session.get(WorkOrder, row.work_order_id) if row else None
        if row is None or work_order is None:
            return
        if answer is None:
            confirmation_hold.release(session, row)  # it leaves now, without the number
            row.last_error = error
            row.next_attempt_at = utcnow() + backoff(attempts)
            workorders.case_event(
                session, work_order, "protocol_failed", ACTOR, error=error, attempt=str(attempts)
            )
            report.failed[number] = error
            log.warning("protocol registration failed", case=number, attempt=attempts, error=error)
            return
        row.status, row.done_at, row.last_error = DONE, utcnow(), ""
        row.numero, row.data = answer.numero, answer.data.isoformat()
        workorders.set_protocollo(session, work_order, answer.numero, ACTOR)
        confirmation_hold.fill(services, session, row, work_order, answer)
    report.registered.append(number)
    log.info("protocol registration recorded", case=number, attempt=attempts)


def _release_claim(services: Services, row_id: int, number: str) -> None:
    """Mailbot stopped while the program ran: the row is due again, the attempt not counted."""
    with db.unit_of_work(services.engine) as session:
        session.execute(
            sa.update(ProtocolRegistration)
            .where(col(ProtocolRegistration.id) == row_id)
            .where(col(ProtocolRegistration.status) == PENDING)
            .values(next_attempt_at=utcnow(), attempts=col(ProtocolRegistration.attempts) - 1)
        )
    log.info("protocol registration interrupted: mailbot is stopping", case=number)


def retry(services: Services, number: str | None = None) -> int:
    """The pending rows (of one case, or all) due now; how many."""
    with db.unit_of_work(services.engine) as session:
        query = sa.update(ProtocolRegistration).where(col(ProtocolRegistration.status) == PENDING)
        if number is not None:
            wo = workorders.by_number(session, number)
            query = query.where(col(ProtocolRegistration.work_order_id) == wo.id)
        result = session.execute(query.values(next_attempt_at=utcnow()))
        return int(result.rowcount)  # type: ignore[attr-defined]


def pending(session: Session) -> list[dict[str, object]]:
    """The registrations still waiting, oldest first, for `mailbot protocol pending`."""
    rows = session.exec(
        select(ProtocolRegistration, WorkOrder.number)
        .join(WorkOrder, col(WorkOrder.id) == ProtocolRegistration.work_order_id)
        .where(ProtocolRegistration.status == PENDING)
        .order_by(col(ProtocolRegistration.created_at), col(ProtocolRegistration.id))
    ).all()
    return [
        {
            "number": number,
            "kind": row.kind,
            "state": "failed" if row.last_error else "pending",
            "attempts": row.attempts,
            "last_error": row.last_error or None,
            "next_attempt_at": row.next_attempt_at.isoformat(timespec="seconds"),
            "office_told_at": (
                row.alerted_at.isoformat(timespec="seconds") if row.alerted_at else None
            ),
        }
        for row, number in rows
    ]
