"""The back office's register and reports (`/registro`): the complaints register with its
filters and its CSV, the annual report (page, HTML and PDF), refunds and corrective actions,
for the members cases/access.py `reports_scope` lets read them: supervisors and admins see
everyone's, a desk its own clientele; anyone else gets 403. The figures are report_data's,
that is the command line's own functions."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request
from flask.typing import ResponseReturnValue

from mailbot.admin import pdf_render
from mailbot.backoffice import report_data
from mailbot.backoffice.context import Office, signed_in
from mailbot.backoffice.report_data import Filters
from mailbot.cases.access import ReportScope, reports_scope
from mailbot.db import unit_of_work
from mailbot.log import get_logger

log = get_logger(__name__)
PAGE_ROWS = 100  # register rows on one page; the CSV has them all
ANNUAL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)


def install(app: Flask, office: Office) -> None:
    """Adds this part's routes to `app`."""
    views = _Views(office)
    guard = signed_in(office)
    app.add_url_rule("/registro", "reports.register", guard(views.register), methods=["GET"])
    app.add_url_rule("/registro.csv", "reports.csv", guard(views.csv), methods=["GET"])
    app.add_url_rule("/registro/relazione", "reports.annual", guard(views.annual), methods=["GET"])
    app.add_url_rule("/registro/relazione.pdf", "reports.pdf", guard(views.pdf), methods=["GET"])


class _Views:
    def __init__(self, office: Office) -> None:
        self.office = office

    def _scope(self) -> ReportScope:
        found = reports_scope(self.office.member())
        if not found.any:
            abort(403)
        return found

    def _filters(self, found: ReportScope) -> tuple[Filters, dict[str, str]]:
        return report_data.read_filters(request.args, self.office.services, found)

    def register(self) -> ResponseReturnValue:
        found = self._scope()
        chosen, errors = self._filters(found)
        services = self.office.services
        with unit_of_work(services.engine) as session:
            rows = report_data.register_rows(session, services, found, chosen)
            refunds = report_data.refund_rows(session, services, rows)
            actions = report_data.action_rows(session, services, rows)
        pages = max(1, math.ceil(len(rows) / PAGE_ROWS))
        page = _page_number(request.args.get("pagina", ""), pages)
        return self.office.page(
            "reports.html",
            400 if errors else 200,
            scope=found,
            filters=chosen,
            errors=errors,
            offices={key: o.name for key, o in services.settings.offices.items()},
            desks=report_data.desk_choices(services, found),
            rows=rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS],
            count=len(rows),
            voided=sum(1 for row in rows if row["voided"]),
            page_number=page,
            pages=pages,
            columns=report_data.COLUMNS,
            cell=report_data.cell,
            case_path=report_data.case_path,
            refunds=refunds,
            actions=actions,
            query=chosen.query(),
        )

    def csv(self) -> ResponseReturnValue:
        found = self._scope()
        chosen, errors = self._filters(found)
        if errors:
            return self.register()
        services = self.office.services
        with unit_of_work(services.engine) as session:
            rows = report_data.register_rows(session, services, found, chosen)
        name = _file_name("registro-reclami", chosen, "csv")
        return _download(report_data.csv_text(rows).encode("utf-8"), "text/csv", name)

    def _annual(self) -> tuple[Filters, str] | None:
        """The annual report's document under the request's filters (None: they are wrong)."""
        found = self._scope()
        chosen, errors = self._filters(found)
        if errors:
            return None
        services = self.office.services
        with unit_of_work(services.engine) as session:
            return chosen, report_data.annual_page(session, services, found, chosen)

    def annual(self) -> ResponseReturnValue:
        made = self._annual()
        if made is None:
            return self.register()
        chosen, document = made
        if request.args.get("scarica"):
            name = _file_name("relazione-reclami", chosen, "html")
            return _download(document.encode("utf-8"), "text/html", name)
        # admin/annual.py's page as it is: its charts (matplotlib's SVG) style their shapes
        # with style attributes, which a nonce cannot allow; the page has no script, form or
        # outside resource, so its own policy allows inline styles and nothing else.
        response = Response(document, mimetype="text/html")
        response.headers["Content-Security-Policy"] = ANNUAL_CSP
        return response

    def pdf(self) -> ResponseReturnValue:
        made = self._annual()
        if made is None:
            return self.register()
        chosen, document = made
        with tempfile.TemporaryDirectory(prefix="mailbot-annual-") as directory:
            path = Path(directory) / "relazione.pdf"
            try:
                pdf_render.html_to_pdf(document, path)
            except pdf_render.PdfEngineMissingError as exc:
                log.warning("annual report PDF unavailable", detail=str(exc)[:200])
                return self.office.error(503, "pdf_unavailable")
            data = path.read_bytes()
        return _download(data, "application/pdf", _file_name("relazione-reclami", chosen, "pdf"))


def _page_number(written: str, pages: int) -> int:
    """The register's page asked for, within 1..pages (anything else: the first)."""
    if written.isdigit() and 1 <= int(written) <= pages:
        return int(written)
    return 1


def _file_name(stem: str, chosen: Filters, extension: str) -> str:
    parts: list[Any] = [stem, chosen.year, chosen.office, chosen.desk]
    return "-".join(str(part) for part in parts if part) + "." + extension


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    if mimetype.startswith("text/"):
        response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
