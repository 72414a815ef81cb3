"""Italy's national holidays as mailbot's table has them, day by day against the `holidays`
library (the reference, a test dependency only) for 2000-2100."""

from __future__ import annotations

from datetime import date

import holidays

from mailbot.charter import Calendar
from mailbot.italian_holidays import national


def test_every_national_holiday_of_2000_to_2100_matches_the_holidays_library() -> None:
    for year in range(2000, 2101):
        reference = set(holidays.country_holidays("IT", years=year))
        assert national(year) == reference, (year, sorted(national(year) ^ reference))


def test_the_working_day_calendar_uses_them() -> None:
    calendar = Calendar()
    assert not calendar.is_working_day(date(2027, 10, 4))  # San Francesco, a Monday
    assert calendar.is_working_day(date(2024, 10, 4))  # a Friday, before it was a holiday again
    assert not calendar.is_working_day(date(2026, 4, 6))  # Lunedì dell'Angelo
    assert not calendar.is_working_day(date(2011, 3, 17))  # that year only
    assert calendar.is_working_day(date(2012, 3, 16))
