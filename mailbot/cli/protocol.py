"""The protocol register from the command line: `workorders segnatura`, the AgID annex 6
`Segnatura.xml` of a case's incoming document (mailbot/protocol/segnatura.py)."""

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
    workorders_app,
    write_out,
)


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
