"""Case numbers (`YYYY/NNNNNN`): sequential per year of receipt in the configured time zone,
taken from a counter row locked in the message's own transaction, so a number is never reused
and a rolled-back case gives its number back.

One UPDATE ... RETURNING a case, built once and run on the session's connection: the row
locks as the ORM's SELECT ... FOR UPDATE did, without a round trip and a flush (nothing
else reads or writes the counter through the ORM).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mailbot.models import WorkOrderCounter

_C = WorkOrderCounter.__table__  # type: ignore[attr-defined]
_TAKE = (
    sa.update(_C)
    .where(_C.c.year == sa.bindparam("of_year"))
    .values(last_seq=_C.c.last_seq + 1)
    .returning(_C.c.last_seq)
)
_CREATE = sa.insert(_C).values(last_seq=0)  # the year is bound at the call


def next_number(session: Session, year: int) -> str:
    """The year's next number. The counter row is locked until the message's transaction ends,
    so concurrent instances queue here and a rolled-back case gives its number back."""
    taken = session.connection().execute(_TAKE, {"of_year": year}).scalar()
    if taken is None:  # the year's first case: two instances may race to create the row
        try:
            with session.begin_nested():
                session.connection().execute(_CREATE, {"year": year})
        except IntegrityError:
            pass  # the other one did; take from theirs
        taken = session.connection().execute(_TAKE, {"of_year": year}).scalar_one()
    return f"{year}/{taken:06d}"
