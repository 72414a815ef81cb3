"""The protocol register from the command line: `workorders protocollo` (a number recorded by
hand), `workorders segnatura` (the AgID annex 6 `Segnatura.xml` of a case's incoming document,
mailbot/protocol/segnatura.py); `protocol pending` and `protocol retry`, the registrations
`[protocol] adapter = "command"` still owes (mailbot/cases/registration.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    ActorOption,
    JsonOption,
    OperatorOption,
    _group,
    actor_name,
    app,
    echo,
    load_settings,
    open_engine,
    print_json,
    services_for,
    workorders_app,
    write_out,
)
from mailbot.cli.cases import _act

protocol_app = _group("The protocol register: registrations by the [protocol] adapter.")
app.add_typer(protocol_app, name="protocol")


@workorders_app.command("protocollo")
def workorders_protocollo(
    number: str,
    protocollo: Annotated[str, typer.Argument(help="The protocol number of a document.")],
    operator: OperatorOption,
) -> None:
    """Record a protocol number of the case's correspondence (for the register)."""
    _act(number, operator, f"#protocollo {protocollo}\n#nota")


@workorders_app.command("segnatura")
def workorders_segnatura(
    number: str,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write here (e.g. Segnatura.xml), not stdout.")
    ] = None,
    by: ActorOption = None,
) -> None:
    """The case's incoming document as AgID's Segnatura.xml (annex 6, schema 3.0.0): protocol
    number and date (`workorders protocollo`), sender, subject, classification, the original
    message and its attachments with their SHA-256; sealed (XAdES) when [protocol] seal_key
    is set. The export is recorded on the case."""
    from mailbot.protocol import segnatura
    from mailbot.storage import Store

    settings = load_settings()
    store = Store(settings.storage.path)
    data = segnatura.export(settings, open_engine(settings), store, number, actor_name(by))
    write_out(data, out)
    state = segnatura.SEALED if settings.protocol.sealed else segnatura.UNSIGNED
    echo(f"Segnatura.xml of {number}: {state}", err=True)


@protocol_app.command("pending")
def protocol_pending(as_json: JsonOption = False) -> None:
    """The registrations still waiting for the register's number: pending, or failed (with the
    last error and when the next attempt is due). The cases stay filed meanwhile."""
    from mailbot import db
    from mailbot.cases import registration

    settings = load_settings()
    with db.read_only(open_engine(settings)) as session:
        rows = registration.pending(session)
    if as_json:
        print_json(rows)
        return
    if not rows:
        echo("No registration pending.")
    for row in rows:
        error = f" — {row['last_error']}" if row["last_error"] else ""
        told = f"  office told {row['office_told_at']}" if row["office_told_at"] else ""
        echo(
            f"{row['number']}  {row['kind']}  {row['state']}  attempts {row['attempts']}  "
            f"next {row['next_attempt_at']}{told}{error}"
        )


@protocol_app.command("retry")
def protocol_retry(
    number: Annotated[
        str | None, typer.Argument(help="Only this case (YYYY/NNNNNN); default: every one.")
    ] = None,
) -> None:
    """Run the registration now for the pending ones (the daemon and `run --once` do it by
    themselves, with a growing pause after each failure)."""
    from mailbot.cases import registration

    settings = load_settings()
    if settings.protocol.adapter == "manual":
        echo('[protocol] adapter is "manual": numbers are recorded with `#protocollo`.')
        return
    services = services_for(settings, open_engine(settings))
    registration.retry(services, number)
    report = registration.run_due(services)
    for done in report.registered:
        echo(f"{done}: registered")
    for failed, error in report.failed.items():
        echo(f"{failed}: failed — {error}", err=True)
    if report.failed:
        raise typer.Exit(1)
