"""The service-charter clock: when a reasoned reply is due, and how long one took.

A term counts days after the day of receipt: calendar days, or working days (no Sundays,
Italian national holidays (`italian_holidays`), the configured local ones such as the
patron saint's day, and no Saturdays unless `[charter] saturday_is_working_day`). A calendar
term that ends on a day that is not a working day moves to the next working day, as Italian
law does with deadlines: one rule, the same Saturday for both. While a case is suspended for more
information the clock stops: the days after the suspension, up to and including the day the
citizen answers, do not count, and it restarts the day after. An extension adds days to the
term. The deadline is the end of its local day.

Everything is a pure function of the case's facts (receipt, term, pauses, extension), so a
deadline can always be recomputed and explained.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from mailbot.italian_holidays import national

Pause = tuple[date, date | None]  # (suspended on, answered on); None while it lasts


@dataclass(frozen=True)
class Calendar:
    local_holidays: tuple[str, ...] = ()  # "MM-DD" every year, or "YYYY-MM-DD"
    saturday_is_working_day: bool = False  # most offices are closed on Saturday

    def is_holiday(self, day: date) -> bool:
        """Sundays, national holidays and the local ones."""
        return (
            day.weekday() == 6
            or day in national(day.year)
            or day.isoformat() in self.local_holidays
            or day.isoformat()[5:] in self.local_holidays
        )

    def is_working_day(self, day: date) -> bool:
        saturday = day.weekday() == 5
        return (not saturday or self.saturday_is_working_day) and not self.is_holiday(day)


def _paused(day: date, pauses: Sequence[Pause], today: date) -> bool:
    return any(start < day <= (end or today) for start, end in pauses)


def _counted(
    received: date, working: bool, calendar: Calendar, pauses: Sequence[Pause], until: date
) -> Iterator[date]:
    """The days that count toward a term, in order, from the day after receipt."""
    day = received
    while True:
        day += timedelta(days=1)
        if not _paused(day, pauses, until) and (not working or calendar.is_working_day(day)):
            yield day


def due_day(
    received: date,
    days: int,
    *,
    working: bool,
    calendar: Calendar,
    pauses: Sequence[Pause] = (),
    today: date | None = None,
) -> date:
    """The last day of a term of `days` starting the day after `received`. A pause still
    running counts up to `today` (default: the day of receipt, i.e. no effect)."""
    counted = _counted(received, working, calendar, pauses, today or received)
    day = next(islice(counted, days - 1, None)) if days > 0 else received
    if not working:
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
    return day


def deadline(last_day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=tz)


def days_taken(
    received: date,
    answered: date,
    *,
    working: bool,
    calendar: Calendar,
    pauses: Sequence[Pause] = (),
) -> int:
    """Days of the term used by a reply on `answered` (pauses excluded)."""
    if not working and not pauses:  # every day counts: no need to walk them (the register's
        return max(0, (answered - received).days)  # thousands of rows; bench/backoffice.py)
    return sum(
        1
        for _ in takewhile(
            lambda d: d <= answered, _counted(received, working, calendar, pauses, answered)
        )
    )


def load_pauses(text: str) -> list[Pause]:
    """Pauses as stored on a work order: JSON [["2026-03-05", "2026-03-09"], ["…", null]]."""
    return [
        (date.fromisoformat(start), date.fromisoformat(end) if end else None)
        for start, end in json.loads(text or "[]")
    ]


def dump_pauses(pauses: Sequence[Pause]) -> str:
    return json.dumps([[s.isoformat(), e.isoformat() if e else None] for s, e in pauses])


@dataclass(frozen=True)
class Clock:
    """What deadline arithmetic needs: the calendar of holidays and the local time zone."""

    calendar: Calendar
    tz: ZoneInfo

    def today(self) -> date:
        return datetime.now(UTC).astimezone(self.tz).date()

    def local_day(self, when: datetime) -> date:
        return when.astimezone(self.tz).date()
