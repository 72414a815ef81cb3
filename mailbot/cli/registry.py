"""The taxpayer registry: `registry import`, `registry show`, `rematch`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    app,
    echo,
    load_settings,
    open_engine,
    print_json,
    registry_app,
    services_for,
)
from mailbot.errors import InputError, NotFoundError


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="The export: CSV or JSON Lines.")],
    *,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by the file name).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: detected from the header).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default: UTF-8, else Windows-1252).")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="A full export: retire taxpayers it does not have.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
) -> None:
    """Add, update (and with --prune retire) taxpayers from a registry export.

    The good rows are imported whatever the others hold; each rejected row is printed with its
    line and why, and the exit code is then 1 (0 when every row was taken)."""
    from mailbot.matching import registry_import

    settings = load_settings()
    engine = open_engine(settings)
    show_bar = sys.stderr.isatty() and file.is_file() and file.stat().st_size > 5_000_000
    with typer.progressbar(
        length=_count_lines(file) if show_bar else 1,
        label="records",
        file=sys.stderr,
        hidden=not show_bar,
        show_pos=True,
    ) as bar:
        report = registry_import.import_file(
            engine,
            file,
            settings.registry,
            fmt=fmt,
            delimiter=delimiter,
            encoding=encoding,
            prune=prune,
            dry_run=dry_run,
            progress=bar.update,
        )
    echo(
        ("dry run, nothing changed: " if dry_run else "")
        + f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        + (f"pruned {report.pruned}, " if prune else "")
        + f"rejected {len(report.rejected)}"
    )
    for line, reason in report.rejected:
        echo(f"  line {line}: {reason}")
    if report.rejected:
        echo(f"mailbot: {len(report.rejected)} row(s) rejected (see above)", err=True)
        raise typer.Exit(1)


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


@app.command("rematch")
def rematch_cases(
    since: Annotated[
        str | None, typer.Option(help="Only cases received on or after this day (YYYY-MM-DD).")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Make the changes.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Match cases on generic or unverified contacts again, after a registry update."""
    from datetime import date, datetime, time

    from mailbot.admin import rematch

    settings = load_settings()
    start = None
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise InputError(f"--since: expected a day like 2026-03-01, got {since!r}") from None
        start = datetime.combine(day, time(), settings.timezone)
    changes = rematch.rematch(services_for(settings, open_engine(settings)), start, apply)
    if as_json:
        print_json([{"number": c.number, "before": c.before, "after": c.after} for c in changes])
        return
    for c in changes:
        b, a = c.before, c.after
        why = f"{a['rule']}: {a['evidence']}" if a["evidence"] else a["rule"]
        echo(
            f"{c.number}: {b['state']} {b['codice_fiscale'] or '-'} -> {a['state']} "
            f"{a['codice_fiscale'] or '-'} ({why})"
        )
    verb = "changed" if apply else "would change (run with --apply)"
    echo(f"{len(changes)} case(s) {verb}", err=True)


@registry_app.command("show")
def registry_show(
    query: Annotated[
        str, typer.Argument(help="A codice fiscale or partita IVA, an address, or a name.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Find taxpayers by code, address or name."""
    from mailbot import db
    from mailbot.matching import registry

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        found = registry.search(session, query)
    if as_json:
        print_json(found)
        return
    if not found:
        raise NotFoundError(f"no taxpayer matches {query!r}")
    for t in found:
        echo(f"{t['codice_fiscale']}  {t['name']}" + ("  (removed)" if t["removed"] else ""))
        for kind in ("email", "pec"):
            for address in t[kind]:
                echo(f"    {kind:<5} {address}")
        if t["postal_address"]:
            echo(f"    addr  {t['postal_address']}")
