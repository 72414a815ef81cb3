"""The forwarding clocks of a regulated profile (issue 33, item 1), read from what the case
already records; nothing is stored for them.

- Within one operator (ARERA RQSII: a complaint sent to the wrong address of the operator must
  reach the right one within 7 working days): each hand-over to another office (`#assegna`,
  `workorders assign`, event `work_order.assigned`) counts the working days from receipt to
  the day of the hand-over.
- Between operators (RQSII and TQRIF: 5 working days to forward, 5 to relay): each forward to a
  third party (`workorders forward`, the back office's "Inoltra", event `work_order.forwarded`)
  counts the working days from receipt to the forward; then, from the day the third party's
  first answer arrived (their mail threaded on the forward) to the day the next reply left for
  the citizen (a relay or a letter), the relay's; while it has not left, up to today.

The limits come from `[charter.requests] profile` (config/requests.py); the municipal profile has
none, and `workorders show` then shows no clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from mailbot import charter
from mailbot.charter import Clock
from mailbot.config.requests import RequestSettings
from mailbot.models import ConversationMessage, Event, WorkOrder

ASSIGNED, FORWARDED = "work_order.assigned", "work_order.forwarded"
RELAYS = ("relay", "letter")  # what reaches the citizen of an answer


def clocks(
    session: Session, work_order: WorkOrder, requests: RequestSettings, clock: Clock
) -> list[dict[str, Any]]:
    """One entry per hand-over or forward of the case (oldest first) that the profile times."""
    within, between, relay = requests.forwarding
    if not (within or between):
        return []
    received = clock.local_day(work_order.received_at)
    events = session.exec(
        select(Event)
        .where(Event.work_order_id == work_order.id, col(Event.kind).in_((ASSIGNED, FORWARDED)))
        .order_by(col(Event.id))
    ).all()
    messages = session.exec(
        select(ConversationMessage)
        .where(ConversationMessage.work_order_id == work_order.id)
        .order_by(col(ConversationMessage.id))
    ).all()
    found = []
    for event in events:
        data = json.loads(event.data)
        day = clock.local_day(event.at)
        taken = _working(received, day, clock)
        if event.kind == ASSIGNED and within:
            found.append(_leg("within", data.get("office", ""), day, taken, within))
        elif event.kind == FORWARDED and between:
            leg = _leg("between", data.get("to", ""), day, taken, between)
            leg["relay"] = _relay(messages, data.get("to", ""), event, relay, clock)
            found.append(leg)
    return found


def _leg(what: str, to: str, day: date, taken: int, limit: int) -> dict[str, Any]:
    return {
        "what": what,
        "to": to,
        "on": day.isoformat(),
        "working_days": taken,
        "limit": limit,
        "late": taken > limit,
    }


def _relay(
    messages: Sequence[ConversationMessage], to: str, forward: Event, limit: int, clock: Clock
) -> dict[str, Any] | None:
    """The third party's answer and its relay to the citizen: None before the answer."""
    answer = next(
        (
            m
            for m in messages
            if m.direction == "in" and m.from_address.lower() == to.lower() and m.date >= forward.at
        ),
        None,
    )
    if answer is None:
        return None
    relayed = next(
        (
            m
            for m in messages
            if m.direction == "out" and m.kind in RELAYS and m.date >= answer.date
        ),
        None,
    )
    start = clock.local_day(answer.date)
    end = clock.local_day(relayed.date) if relayed else clock.today()
    taken = _working(start, end, clock)
    return {
        "answered_on": start.isoformat(),
        "relayed_on": end.isoformat() if relayed else None,
        "working_days": taken,
        "limit": limit,
        "late": taken > limit,
    }


def _working(start: date, end: date, clock: Clock) -> int:
    return charter.days_taken(start, end, working=True, calendar=clock.calendar)
