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
    import mimetypes

    from mailbot import runtime
    from mailbot.cases import forwarding
    from mailbot.types import Attachment

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--file {file}: cannot read: {exc}") from None
    files = []
    for path in attach or []:
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise InputError(f"--attach {path}: {exc.strerror}") from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(Attachment(path.name, kind, payload))
    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    done = forwarding.forward(
        services, number, operator.strip().lower(), to, text, attachments=files,
        chosen=case_attachment or [],
    )  # fmt: skip
    echo(done)
    report = runtime.deliver_now(services)
    echo(f"outbox: {report.sent} sent, {report.retried} deferred, {report.failed} failed")
