"""The service charter's register and reports: `report register`, `annual`, `sla`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    JsonOption,
    echo,
    load_settings,
    open_engine,
    print_json,
    report_app,
    services_for,
)
from mailbot.errors import InputError


@report_app.command("register")
def report_register(
    year: Annotated[int, typer.Option(help="Cases received in this year.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write here (xlsx needs it).")] = None,
    desk: Annotated[
        str, typer.Option("--desk", help="Only the cases this desk opened ([[desks]] id).")
    ] = "",
) -> None:
    """The register of every complaint of a year: filing, author, category, office, reasoned
    reply, protocol numbers, outcome, days taken, within term, refund due."""
    from mailbot import db
    from mailbot.admin import reports

    if fmt not in ("csv", "xlsx"):
        raise InputError(f"--format: expected csv or xlsx, got {fmt!r}")
    if fmt == "xlsx" and out is None:
        raise InputError("--format xlsx needs --out FILE.xlsx")
    settings = load_settings()
    if desk and desk not in settings.desks:
        known = ", ".join(settings.desks) or "none configured"
        raise InputError(f"--desk: no desk {desk!r} (known: {known})")
    services = services_for(settings, open_engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.register(session, settings, services.clock, year, desk)
    if fmt == "xlsx":
        assert out is not None
        reports.to_xlsx(rows, reports.REGISTER_COLUMNS, out)
    else:
        text = reports.to_csv(rows, reports.REGISTER_COLUMNS)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
    voided = sum(r["voided"] for r in rows)
    also = f" ({voided} voided, left out of every figure)" if voided else ""
    whose = f" of desk {desk}" if desk else ""
    echo(f"{len(rows)} case(s) in the {year} register{whose}{also}", err=True)


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option(help="The year reported on.")],
    out: Annotated[Path, typer.Option(help="Directory for the HTML page and the PDF.")],
    users: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Users served, for the rate per 1,000 users."),
    ] = None,
) -> None:
    """The annual report: an HTML page with charts and the same as a PDF."""
    from mailbot import db
    from mailbot.admin import annual, annual_detail, reports

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.register(session, settings, services.clock, year)
        previous = reports.register(session, settings, services.clock, year - 1)
        detail = annual_detail.detail(session, year, rows, users)
    try:
        page, pdf = annual.write(
            annual.figures(year, rows, previous), services.composer.institution, out, detail
        )
    except OSError as exc:
        raise InputError(f"--out: cannot write to {out}: {exc.strerror}") from None
    echo(f"{page}\n{pdf}")


@report_app.command("sla")
def report_sla(as_json: JsonOption = False) -> None:
    """Cases still waiting for a reasoned reply, soonest deadline first, with the days left."""
    from mailbot import db
    from mailbot.admin import reports

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.sla(session, services.clock)
    if as_json:
        print_json(rows)
        return
    if rows:  # a header over the columns, on stdout with them; the count goes to stderr
        echo(_sla_line(("NUMBER", "STATUS", "OFFICE", "DUE", "LEFT", "SUBJECT")))
    for row in rows:
        left = row["days_left"]
        when = f"{left} day(s) left" if left >= 0 else f"LATE by {-left} day(s)"
        echo(
            _sla_line(
                (row["number"], row["status"], row["office"], row["due_on"], when, row["subject"])
            )
        )
    echo(f"{len(rows)} case(s) waiting for a reasoned reply", err=True)


def _sla_line(cells: tuple[str, str, str, str, str, str]) -> str:
    number, status, office, due, left, subject = cells
    return f"{number:<12}  {status:<9} {office:<10} {due:<10}  {left:<18} {subject}"
