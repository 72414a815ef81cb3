"""Running and keeping the service: `run`, `web`, `db upgrade`, `reconcile`, `reminders`, `purge`
and `contact export` (an access request).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    ActorOption,
    JsonOption,
    State,
    actor_name,
    app,
    contact_app,
    daemon_services,
    db_app,
    echo,
    load_settings,
    open_engine,
    print_json,
    services_for,
)
from mailbot.errors import ConfigError, InputError, TransientError


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Process all new mail, flush the outbox, exit.")
    ] = False,
) -> None:
    """Watch the mailboxes and send what is due (upgrades the database schema first)."""
    from mailbot import runtime

    services = daemon_services()
    if not once:
        runtime.run_forever(services, rebuild=daemon_services)
        return
    try:
        report = runtime.run_once(services)
    finally:
        services.engine.dispose()  # SQLite folds its log into the file as the last one closes
    State.leave_at_once = True
    for name, drained in report.mailboxes.items():
        counts = ", ".join(f"{n} {k}" for k, n in sorted(drained.counts.items())) or "no new mail"
        echo(f"{name}: {counts}")
    for name, error in report.unavailable.items():
        echo(f"{name}: unavailable: {error}", err=True)
    d = report.delivery
    echo(f"outbox: {d.sent} sent, {d.retried} deferred, {d.failed} failed")
    for error in d.errors:
        echo(f"outbox: {error}", err=True)
    if report.unavailable or d.errors:
        raise typer.Exit(TransientError.exit_code)


@app.command()
def web() -> None:
    """Serve only the online complaint form and questionnaire ([web] listen), in the foreground.

    `mailbot run` serves them too when [web] listen is set: use this for a separate unit (the
    daemon, wherever it runs on the same database, sends the confirmations)."""
    services = daemon_services()
    if not services.settings.web.enabled:
        raise ConfigError(
            'web.listen: not set, so there is no form to serve (e.g. "127.0.0.1:8080")'
        )
    from mailbot.web.server import serve

    serve(services)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from mailbot import db

    settings = load_settings()
    revision = db.upgrade(open_engine(settings, require_current=False))
    echo(f"database at revision {revision}")


@app.command()
def reconcile(
    mailbox: Annotated[str | None, typer.Option(help="Only this mailbox.")] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Ingest what is missing, free stuck rows.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare each mailbox with the database and report (and with --fix, repair) the gaps."""
    from mailbot import runtime
    from mailbot.admin import reconcile as reconciling

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    result = reconciling.reconcile(services, mailbox, fix)
    if fix:
        runtime.deliver_now(services)
    if as_json:
        print_json(result.as_dict())
    else:
        echo(f"{'mailbox':<14} {'server':>7} {'recorded':>9} {'waiting':>8} {'missing':>8}  notes")
        for m in result.mailboxes:
            notes = ("UIDVALIDITY changed; " if m.uidvalidity_changed else "") + m.error
            if m.missing:
                shown = ", ".join(map(str, m.missing[:10])) + ("…" if len(m.missing) > 10 else "")
                notes += f"missing UIDs {shown}" + (f", {m.fixed} ingested now" if m.fixed else "")
            counts = f"{m.on_server:>7} {m.recorded:>9} {m.waiting:>8} {len(m.missing):>8}"
            echo(f"{m.mailbox:<14} {counts}  {notes}")
        echo(f"outbox rows stuck over an hour: {len(result.stuck_outbox)}")
        cases = ", ".join(result.without_confirmation) or "none"
        echo(f"cases without a confirmation: {cases}")
        verdict = "gaps found" + (" (fixed what could be)" if fix else ": run with --fix")
        echo("clean" if result.clean else verdict)
    if not result.clean and not fix:
        raise typer.Exit(1)


@app.command()
def reminders() -> None:
    """Queue and send today's digest to each office (cases due soon, overdue ones to the
    manager) if its time has come and it has not gone yet: safe to run any number of times.
    The daemon does this itself; the timer is the safety net for `run --once` set-ups."""
    from mailbot import runtime
    from mailbot.cases import reminders as reminding
    from mailbot.models import utcnow

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    queued = reminding.send_digests(services, utcnow())
    delivery = runtime.deliver_now(services)
    echo(f"digests queued: {queued}; outbox: {delivery.sent} sent")
    for error in delivery.errors:
        echo(f"outbox: {error}", err=True)
    if delivery.errors:
        raise typer.Exit(TransientError.exit_code)


@app.command()
def purge(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Cases closed longer ago than this (5y, 400d); default [retention] cases.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask (for scripts and timers).")
    ] = False,
    by: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove the personal data of closed cases past retention; keep their figures.

    On a terminal it says what would go and asks first; elsewhere it needs --yes."""
    from mailbot.admin import purge
    from mailbot.models import utcnow

    settings = load_settings()
    age = older_than or settings.retention.cases
    before = purge.cutoff(utcnow(), age, "--older-than" if older_than else "retention.cases")
    when = before.astimezone(settings.timezone).date().isoformat()
    services = services_for(settings, open_engine(settings))
    if not (dry_run or yes):
        _confirm_purge(purge.purge(services, before, dry_run=True).cases, when)
    report = purge.purge(services, before, dry_run=dry_run, actor=actor_name(by))
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would be purged" if dry_run else "purged"
    echo(f"cases closed before {when}: {len(report.cases)} {verb}")
    if report.cases:
        echo(f"  {_some(report.cases)}")
    echo(f"messages scrubbed: {report.messages}")
    if not dry_run:
        echo(
            f"stored objects removed: {report.objects_removed}; "
            f"contacts removed: {report.contacts_removed}"
        )


def _confirm_purge(cases: list[str], when: str) -> None:
    """Nothing is deleted unasked: on a terminal the admin sees how many cases, up to which
    day, and says yes; with no terminal to ask on, --yes must say it."""
    if not sys.stdin.isatty():
        raise InputError(
            "purge: not on a terminal, so there is no one to ask: give --yes to purge "
            "(or --dry-run to see what would go)"
        )
    if not cases:
        return
    echo(
        f"{len(cases)} case(s) closed before {when} will lose their personal data for good "
        f"(texts, originals, attachments, contacts; the figures stay):\n  {_some(cases)}",
        err=True,
    )
    if not typer.confirm("Purge them?", default=False, err=True):
        echo("nothing purged", err=True)
        raise typer.Exit(1)


def _some(numbers: list[str]) -> str:
    return ", ".join(numbers[:20]) + (" …" if len(numbers) > 20 else "")


@contact_app.command("export")
def contact_export(
    who: Annotated[str, typer.Argument(help="An email address, or a codice fiscale / P.IVA.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The ZIP to write (default: ./export-….zip).")
    ] = None,
    by: ActorOption = None,
) -> None:
    """Everything held about one person, as a ZIP (an access request under the GDPR)."""
    from mailbot.admin import export
    from mailbot.models import utcnow

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    data, summary = export.export_person(services, who.strip(), actor=actor_name(by))
    target = out or Path(f"export-{utcnow().strftime('%Y%m%d-%H%M%S')}.zip")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise InputError(f"--out {target}: {exc.strerror}") from None
    echo(f"wrote {target}: {summary}")
