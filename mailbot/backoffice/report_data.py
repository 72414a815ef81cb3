"""What the register and reports pages show, taken from the functions the command line calls:
the register of `mailbot report register` (admin/reports.py), the annual report of `report
annual` (admin/annual.py, annual_detail.py), `refunds list` (cases/refunds.py) and `actions
list` (cases/register.py). Nothing is counted again here: the pages filter the same rows.

Whose rows a member reads is cases/access.py `reports_scope`: everyone's, or only the cases
its desks opened (`report register --desk`); the filters (year, office, desk) narrow it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from mailbot.admin import annual, annual_detail, italian, reports
from mailbot.cases import refunds, register
from mailbot.cases.access import ReportScope
from mailbot.services import Services

YEARS = (2000, 2100)  # what the year filter accepts


@dataclass(frozen=True)
class Filters:
    year: int
    office: str = ""  # an office id ("": every office)
    desk: str = ""  # a desk id ("": every desk of the scope)

    def query(self) -> dict[str, str]:
        """The filters as the page's query string (the links to the CSV and the report)."""
        found = {"anno": str(self.year), "ufficio": self.office, "sportello": self.desk}
        return {key: value for key, value in found.items() if value}

    @property
    def narrowed(self) -> bool:
        return bool(self.office or self.desk)


def read_filters(
    args: Mapping[str, str], services: Services, scope: ReportScope
) -> tuple[Filters, dict[str, str]]:
    """The filters of a request, and the errors of those that are wrong (field → word key);
    a wrong field falls back to its default so the page still shows something sensible."""
    settings = services.settings
    errors: dict[str, str] = {}
    year = services.clock.today().year
    written = args.get("anno", "").strip()
    if written:
        if written.isdigit() and YEARS[0] <= int(written) <= YEARS[1]:
            year = int(written)
        else:
            errors["anno"] = "bad_year"
    office = args.get("ufficio", "").strip()
    if office and office not in settings.offices:
        errors["ufficio"], office = "bad_office", ""
    desk = args.get("sportello", "").strip()
    if desk and desk not in desk_choices(services, scope):
        errors["sportello"], desk = "bad_desk", ""
    return Filters(year, office, desk), errors


def desk_choices(services: Services, scope: ReportScope) -> dict[str, str]:
    """The desks the member may pick (id → name): every desk, or its own."""
    desks = services.settings.desks
    ids = list(desks) if scope.everyone else list(scope.desks)
    return {d: desks[d].name if d in desks else d for d in ids}


def register_rows(
    session: Session, services: Services, scope: ReportScope, filters: Filters
) -> list[dict[str, Any]]:
    """The register rows the member may read under `filters` (reports.register's rows)."""
    if not scope.any:
        return []
    if filters.desk:
        desks = [filters.desk]
    elif scope.everyone:
        desks = [""]
    else:
        desks = list(scope.desks)
    rows: list[dict[str, Any]] = []
    for desk in desks:
        rows += reports.register(session, services.settings, services.clock, filters.year, desk)
    if len(desks) > 1:
        rows.sort(key=lambda row: str(row["number"]))
    if filters.office:
        rows = [row for row in rows if row["office_id"] == filters.office]
    return rows


def annual_page(session: Session, services: Services, scope: ReportScope, filters: Filters) -> str:
    """The annual report's page (`report annual`'s HTML), for the rows the member reads. The
    questionnaire's figures cover every case of the year (survey.figures), so a report narrowed
    to a desk or an office leaves them out rather than show the others' answers."""
    rows = register_rows(session, services, scope, filters)
    earlier = dataclasses.replace(filters, year=filters.year - 1)
    previous = register_rows(session, services, scope, earlier)
    detail = annual_detail.detail(session, filters.year, rows)
    if filters.narrowed or not scope.everyone:
        detail = dataclasses.replace(detail, survey=[], survey_answers=0, comments=[])
    figures = annual.figures(filters.year, rows, previous)
    return annual.render_html(figures, services.composer.institution, detail)


def refund_rows(
    session: Session, services: Services, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`refunds list`'s rows for the cases of `rows`."""
    settings = services.settings
    numbers = {row["number"] for row in rows}
    factor = settings.charter.refund_late_factor
    return [
        refunds.view(refund, number, settings.timezone, factor)
        for refund, number in refunds.refunds(session)
        if number in numbers
    ]


def action_rows(
    session: Session, services: Services, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`actions list`'s rows for the cases of `rows`."""
    numbers = {row["number"] for row in rows}
    return [
        register.action_view(action, number, services.settings.timezone)
        for action, number in register.actions(session)
        if number in numbers
    ]


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """The register as `report register --format csv` writes it (neutralised cells)."""
    return reports.to_csv(rows, reports.REGISTER_COLUMNS)


COLUMNS = tuple(key for key, _ in reports.REGISTER_COLUMNS)


def cell(value: Any) -> str:
    """A register value on the page as in the CSV: dates 11/03/2026, decimals 12,50."""
    if isinstance(value, date):
        return italian.day(value)
    if isinstance(value, float):
        return italian.plain_decimal(value)
    return "" if value is None else str(value)


def case_path(number: str) -> str:
    """The case's page in the back office (the number's slash is a dash in the address)."""
    return "/pratiche/" + number.replace("/", "-")
