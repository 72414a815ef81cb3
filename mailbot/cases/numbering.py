"""Case numbers (`YYYY/NNNNNN`): sequential per year of receipt in the configured time zone,
taken from a counter row locked in the message's own transaction, so a number is never reused
and a rolled-back case gives its number back.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mailbot.models import (
    WorkOrderCounter,
)


def next_number(session: Session, year: int) -> str:
    """The year's next number. The counter row is locked until the message's transaction ends,
    so concurrent instances queue here and a rolled-back case gives its number back."""
    counter = session.get(WorkOrderCounter, year, with_for_update=True)
    if counter is None:  # the year's first case: two instances may race to create the row
        try:
            with session.begin_nested():
                session.add(WorkOrderCounter(year=year, last_seq=0))
        except IntegrityError:
            pass  # the other one did; lock theirs
        counter = session.get(WorkOrderCounter, year, with_for_update=True, populate_existing=True)
        assert counter is not None
    counter.last_seq += 1
    session.flush()
    return f"{year}/{counter.last_seq:06d}"
