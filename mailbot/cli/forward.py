"""`mailbot workorders forward`: a case forwarded to a third party (a contractor, another
administration) by mail, with the case's number and attachments; the third party's answer
comes back to the case as an internal note for the office. The same function as the back
office's "Inoltra" form (cases/forwarding.py); cli/cases.py holds the other case commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    OperatorOption,
    echo,
    load_settings,
    open_engine,
    read_attachments,
    send_now,
    services_for,
    workorders_app,
)
from mailbot.errors import InputError


@workorders_app.command("forward")
def workorders_forward(
    number: str,
    *,
    to: Annotated[str, typer.Option("--to", help="The third party's address.")],
    operator: OperatorOption,
    file: Annotated[Path, typer.Option("--file", help="The text of the forward (UTF-8).")],
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="A file to attach; repeatable.")
    ] = None,
    case_attachment: Annotated[
        list[int] | None,
        typer.Option("--case-attachment", help="Id of one of the case's attachments; repeatable."),
    ] = None,
) -> None:
    """Forward the case to a third party by mail; its answer returns as an internal note."""
    from mailbot.cases import forwarding

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--file {file}: cannot read: {exc}") from None
    files = read_attachments(attach)
    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    done = forwarding.forward(
        services, number, operator.strip().lower(), to, text, attachments=files,
        chosen=case_attachment or [],
    )  # fmt: skip
    echo(done)
    send_now(services)
