"""Italy's national holidays, as data: the days the law (L. 260/1949 and its amendments) makes
holidays, from 2000 on, Easter from `dateutil.easter`.

These rules were the `holidays` library's Italian calendar; the library stays the reference
(tests/unit/test_italian_holidays.py compares every day of 2000-2100 with it) but is no longer
imported at run time: loading it brought ~300 modules and 19 MB into the daemon and into every
command that computes a deadline, for a dozen lines of rules (issue 32). A change in the law
(as 4 October became a holiday again in 2026) is a new row here; the test fails when the
library, upgraded, knows of one this table does not.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from dateutil.easter import easter

# (month, day, first year, last year): a fixed date, a holiday in the years given.
FIXED: tuple[tuple[int, int, int, int], ...] = (
    (1, 1, 2000, 9999),  # Capodanno
    (1, 6, 2000, 9999),  # Epifania
    (3, 17, 2011, 2011),  # 150 anni dell'Unità d'Italia (that year only)
    (4, 25, 2000, 9999),  # Festa della Liberazione
    (5, 1, 2000, 9999),  # Festa del Lavoro
    (6, 2, 2001, 9999),  # Festa della Repubblica (on 2 June again from 2001)
    (8, 15, 2000, 9999),  # Ferragosto (Assunzione)
    (10, 4, 2026, 9999),  # San Francesco d'Assisi (again a holiday from 2026)
    (11, 1, 2000, 9999),  # Ognissanti
    (12, 8, 2000, 9999),  # Immacolata Concezione
    (12, 25, 2000, 9999),  # Natale
    (12, 26, 2000, 9999),  # Santo Stefano
)
# (month, first year, last year): the first Sunday of the month (a Sunday is a holiday anyway;
# listed so that the calendar says which day it is).
FIRST_SUNDAY: tuple[tuple[int, int, int], ...] = (
    (6, 2000, 2000),  # Festa della Repubblica, moved to the first Sunday of June until 2000
    (11, 2000, 9999),  # Giornata dell'Unità Nazionale e delle Forze Armate
)
EASTER_OFFSETS = (0, 1)  # Pasqua, Lunedì dell'Angelo


@lru_cache(maxsize=64)
def national(year: int) -> frozenset[date]:
    """The national holidays of `year` (years before 2000 get the rules of 2000)."""
    days = {date(year, m, d) for m, d, first, last in FIXED if first <= max(year, 2000) <= last}
    for month, first, last in FIRST_SUNDAY:
        if first <= max(year, 2000) <= last:
            day = date(year, month, 1)
            days.add(day + timedelta(days=(6 - day.weekday()) % 7))
    sunday = easter(year)
    days.update(sunday + timedelta(days=offset) for offset in EASTER_OFFSETS)
    return frozenset(days)
