"""The regulator's register and annual data from the command line: `report arera` (the
workbook for ARERA's annual data collection, mailbot/admin/arera.py) and `workorders supply`
(what the register names a request by: type of use, customer code, supply point)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    ActorOption,
    actor_name,
    echo,
    load_settings,
    open_engine,
    report_app,
    services_for,
    workorders_app,
)
from mailbot.errors import InputError


def parse_targets(values: list[str]) -> dict[str, float]:
    """`--target reclamo=75` (repeatable) → {"reclamo": 75.0}, a clear error otherwise."""
    from mailbot.config.arera_targets import REGULATED_KINDS

    found: dict[str, float] = {}
    for value in values:
        kind, sep, percent = value.partition("=")
        try:
            share = float(percent.replace(",", "."))
        except ValueError:
            share = -1.0
        if not sep or kind not in REGULATED_KINDS or not 0 <= share <= 100:
            raise InputError(
                f"--target: expected KIND=PERCENT with KIND one of "
                f"{', '.join(REGULATED_KINDS)} and PERCENT 0-100, got {value!r}"
            )
        found[kind] = share
    return found


@report_app.command("arera")
def report_arera(
    year: Annotated[int, typer.Option(help="Requests received in this year.")],
    out: Annotated[Path, typer.Option(help="The workbook to write (.xlsx).")],
    scheme: Annotated[
        str,
        typer.Option(
            help="Waste (TQRIF): the regulatory scheme, I-IV, whose targets apply "
            "(default: [charter.requests] scheme)."
        ),
    ] = "",
    target: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KIND=PERCENT",
            help="A general standard of your own (e.g. reclamo=80), over the scheme's.",
        ),
    ] = None,
    by: ActorOption = None,
) -> None:
    """ARERA's register and annual data: per kind of written request (complaint, information,
    bill correction) the counts within the term, late by cause, unanswered past the term, the
    mean actual time and the share against the scheme's target; then the register. The export
    is recorded in the audit trail."""
    from mailbot import db
    from mailbot.admin import arera
    from mailbot.config.arera_targets import SCHEMES, scheme_of

    found_scheme = scheme_of(scheme) if scheme else None
    if scheme and found_scheme is None:
        raise InputError(f"--scheme: expected one of {', '.join(SCHEMES)}, got {scheme!r}")
    overrides = parse_targets(target or [])
    settings = load_settings()
    if not scheme and settings.charter.requests.scheme:  # [charter.requests] scheme
        found_scheme = scheme_of(settings.charter.requests.scheme)
    services = services_for(settings, open_engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = arera.register(session, services.clock, year)
        others = arera.left_out(session, year)
        db.record_event(
            session, "report.arera_exported", actor=actor_name(by), year=year, requests=len(rows)
        )
    found = arera.figures(rows, found_scheme, overrides)
    try:
        arera.write(out, rows, found, found_scheme)
    except OSError as exc:
        raise InputError(f"--out: cannot write to {out}: {exc.strerror}") from None
    for f in found:
        share = f"{f.share:.1f}%" if f.share is not None else "n.d."
        # No measurable share (nothing due yet): no verdict, as the workbook leaves it blank.
        verdict = "" if f.met is None else ": met" if f.met else ": not met"
        aim = "" if f.target is None else f" (target {f.target:g}%{verdict})"
        echo(f"{f.kind}: {f.received} received, {f.on_time} on time, {share}{aim}", err=True)
    also = f"; {others} other case(s) are not regulated requests, left out" if others else ""
    echo(f"{len(rows)} request(s) in the {year} ARERA register{also}", err=True)


@workorders_app.command("supply")
def workorders_supply(
    number: str,
    use: Annotated[
        str | None,
        typer.Option("--use", help="Type of use: domestico, non_domestico (or your own word)."),
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="The customer code.")] = None,
    supply_point: Annotated[
        str | None,
        typer.Option("--supply-point", help="The supply point (waste: the account's code)."),
    ] = None,
    by: ActorOption = None,
) -> None:
    """Record what ARERA's register names the request by; an empty value clears a field."""
    from mailbot import db
    from mailbot.cases import register
    from mailbot.cases.workorders import by_number

    if use is None and customer is None and supply_point is None:
        raise InputError("say what to record: --use, --customer and/or --supply-point")
    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        work_order = by_number(session, number)
        register.set_supply(
            session,
            work_order,
            actor_name(by),
            use_type=use,
            customer_code=customer,
            supply_point=supply_point,
        )
    echo(f"{number}: supply recorded")
