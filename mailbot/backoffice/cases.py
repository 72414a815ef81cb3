"""The back office's cases: the lists (`/` the member's open and suspended cases, `/archivio`
the closed ones) with their filters, search and pages (case_lists.py), the case page
(case_page.py) and its actions (case_actions.py). Every query goes through
`cases/access.py`: an operator lists his offices' cases, a supervisor those within reach, a
desk its own (and the archive of every closed case), an admin all."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, request
from flask.typing import ResponseReturnValue

from mailbot.backoffice import case_actions, case_page
from mailbot.backoffice.case_lists import Filters, list_cases
from mailbot.backoffice.context import Office, signed_in
from mailbot.cases import wording
from mailbot.cases.workorders import CLOSED, OPEN, SUSPENDED
from mailbot.config import CHANNELS, SUBMISSION_KINDS
from mailbot.db import unit_of_work
from mailbot.models import utcnow


def install(app: Flask, office: Office) -> None:
    """Adds this part's routes to `app`."""

    @signed_in(office)
    def my_cases() -> ResponseReturnValue:
        return _listing(office, archive=False)

    @signed_in(office)
    def archive() -> ResponseReturnValue:
        return _listing(office, archive=True)

    app.add_url_rule("/", "my_cases", my_cases, methods=["GET"])
    app.add_url_rule("/archivio", "archive", archive, methods=["GET"])
    case_page.install(app, office)
    case_actions.install(app, office)


def _listing(office: Office, *, archive: bool) -> ResponseReturnValue:
    services, member = office.services, office.member()
    assert member is not None
    settings, clock, language = services.settings, services.clock, office.language()
    filters = Filters.read(request.args, archive)
    now = utcnow()
    with unit_of_work(services.engine) as session:
        listing = list_cases(session, member, filters, archive=archive, now=now)
    tz, today = settings.timezone, clock.today()
    rows = []
    for row in listing.rows:
        case = row["case"]
        late = (
            case.status == OPEN and case.reasoned_reply_at is None and case.due_at < now
        )  # the same test as case_lists.late_condition, on the row
        office_settings = settings.offices.get(case.office)
        rows.append(
            {
                "number": case.number,
                "slug": case.number.replace("/", "-"),
                "received": wording.day(case.received_at, tz, language),
                "subject": case.subject,
                "name": row["name"],
                "office": office_settings.name if office_settings else case.office,
                "status": case.status,
                "status_text": wording.label("status", case.status, language),
                "due": wording.day(case.due_at, tz, language),
                "days_left": (clock.local_day(case.due_at) - today).days,
                "late": late,
                "closed": wording.day(case.closed_at, tz, language),
            }
        )

    def page_link(page: int) -> str:
        query = urlencode(filters.query(page))
        return ("/archivio" if archive else "/") + (f"?{query}" if query else "")

    return office.page(
        "cases.html",
        rows=rows,
        archive=archive,
        filters=filters,
        listing=listing,
        page_link=page_link,
        offices=sorted(settings.offices.values(), key=lambda o: o.name),
        categories=settings.charter.categories,
        kinds=SUBMISSION_KINDS,
        channels=CHANNELS,
        statuses=() if archive else (OPEN, SUSPENDED),
        status_label=lambda s: wording.label("status", s, language),
        channel_label=lambda c: wording.label("channel", c, language),
        closed_status=CLOSED,
    )
