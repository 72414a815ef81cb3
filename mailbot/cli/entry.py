"""`mailbot workorders open --channel …`: a case that came at the counter, by post, by fax or by
phone, typed in by an operator and filed like a mail (mailbot/entry.py); `workorders letter`:
the office's reply to such a citizen with no e-mail address, as a letter to print and post;
`workorders void`: a case opened in error, kept with its number."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mailbot.cli.app import (
    ActorOption,
    EntryChannel,
    OperatorOption,
    actor_name,
    echo,
    load_settings,
    open_engine,
    send_now,
    services_for,
    workorders_app,
)
from mailbot.errors import InputError


@workorders_app.command("open")
def workorders_open(
    *,
    channel: Annotated[EntryChannel, typer.Option("--channel", help="How it came: not by mail.")],
    operator: OperatorOption,
    subject: Annotated[str, typer.Option("--subject", help="What it is about.")],
    text_file: Annotated[
        Path | None,
        typer.Option("--text-file", help="The complaint, or the minutes of a call (UTF-8)."),
    ] = None,
    text: Annotated[str, typer.Option("--text", help="The same, given inline.")] = "",
    name: Annotated[str, typer.Option("--name", help="The citizen's name.")] = "",
    email: Annotated[str, typer.Option("--email", help="Where to confirm and answer.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="A phone number.")] = "",
    address: Annotated[
        str,
        typer.Option(
            "--address",
            help='Postal address, for a citizen with no e-mail ("Via Roma 1, 00100 Roma"): '
            "the office's reply becomes a letter to it.",
        ),
    ] = "",
    received: Annotated[
        str, typer.Option("--received", help="When it was presented: YYYY-MM-DD[THH:MM].")
    ] = "",
    mailbox: Annotated[
        str, typer.Option("--mailbox", help="Whose cases (default: the first).")
    ] = "",
    attach: Annotated[
        list[Path] | None,
        typer.Option("--attach", help="The scanned letter, or any document; repeatable."),
    ] = None,
    desk: Annotated[
        str,
        typer.Option(
            "--desk",
            help="The desk (sportello, see [[desks]]) entering it: the case is the desk's, "
            "which relays the office's answer (default: the operator's desk, if any).",
        ),
    ] = "",
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="The kind of request: reclamo, informazioni, rettifica, suggerimento, "
            "segnalazione, rimborso (default: the mailbox's); it decides the term.",
        ),
    ] = "",
) -> None:
    """Open a case that came by another channel (counter, post, fax, phone, web)."""
    from mailbot.entry import Submission, file_submission, read_attachments

    settings = load_settings()
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"--text-file {text_file}: cannot read: {exc}") from None
    submission = Submission(
        channel=channel.value,
        subject=subject,
        text=text,
        name=name,
        email=email.strip().lower(),
        phone=phone,
        postal_address=" ".join(address.split()),
        received_at=_local_time(received, settings.timezone) if received else None,
        attachments=read_attachments(attach or []),
        mailbox=mailbox,
        desk=desk.strip(),
        kind=_kind(kind),
    )
    services = services_for(settings, open_engine(settings))
    outcome = file_submission(services, submission, actor=operator)
    if outcome.work_order_number is None:
        raise InputError(f"not filed: {outcome.status} ({outcome.reason})")
    echo(f"{outcome.work_order_number}: opened ({channel.value})")
    if not submission.email:
        echo(_by_letter(outcome.work_order_number, " ".join(address.split()), settings.language))
    send_now(services)


@workorders_app.command("letter")
def workorders_letter(
    number: str,
    out: Annotated[Path | None, typer.Option("--out", help="Write the PDF here.")] = None,
    address: Annotated[
        str,
        typer.Option(
            "--address",
            help="Record the citizen's postal address (and make the last letter again for it).",
        ),
    ] = "",
    operator: Annotated[
        str, typer.Option("--operator", help="Who records the address (with --address).")
    ] = "",
) -> None:
    """The letter to print and post for a citizen with no e-mail address (the office's reply)."""
    from mailbot.cases import letters
    from mailbot.cli.app import refuse_binary_on_terminal, write_out

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    if out is None and not address.strip():
        refuse_binary_on_terminal("a letter (PDF)", f"--out {letters.file_name(number)}")
    data = letters.latest(services, number, address, operator.strip().lower())
    if not data:
        echo(f"{number}: postal address recorded; the next letter goes to it")
        return
    if out is None and sys.stdout.isatty():
        out = Path(letters.file_name(number))
    write_out(data, out)


def _local_time(value: str, tz: Any) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--received {value!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


def _by_letter(number: str, address: str, language: str) -> str:
    """What the desk is told of a citizen with no e-mail address: the reply will be a letter."""
    if language == "en":
        return "No e-mail address: the reply will be a letter to print and post" + (
            f" to {address}." if address else
            f" (no postal address recorded: give it with mailbot workorders letter {number}"
            " --address ...)."
        )  # fmt: skip
    return "Nessun indirizzo e-mail: la risposta sarà una lettera da stampare e spedire" + (
        f" a {address}." if address else
        " (indirizzo postale non registrato: indicarlo con"
        f" mailbot workorders letter {number} --address ...)."
    )  # fmt: skip


@workorders_app.command("void")
def workorders_void(
    number: str,
    reason: Annotated[
        str, typer.Option("--reason", help="Why it was opened in error (kept in the register).")
    ],
    by: ActorOption = None,
) -> None:
    """Void a case opened in error: it keeps its number, nothing more is sent for it."""
    from mailbot.cases import voiding

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    echo(voiding.void_case(services, number, reason, actor_name(by)))


def _kind(word: str) -> str:
    """`--kind`'s word as a kind of request ("" when not given)."""
    from mailbot.cases.register import kind_of

    if not word.strip():
        return ""
    found = kind_of(word)
    if found is None:
        raise InputError(
            f"--kind: {word!r} is not a kind (reclamo, informazioni, rettifica, suggerimento, "
            "segnalazione, rimborso)"
        )
    return found
