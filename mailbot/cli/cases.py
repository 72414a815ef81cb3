"""Work orders from the command line: list, show, link, export, and what an operator's email
can do (reply, note, assign, close, reopen, category, extend; protocollo is in cli/protocol.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mailbot.cli.app import (
    ActorOption,
    CaseStatus,
    JsonOption,
    OperatorOption,
    actor_name,
    echo,
    load_settings,
    open_engine,
    print_json,
    print_table,
    read_attachments,
    refuse_binary_on_terminal,
    send_now,
    services_for,
    workorders_app,
    write_out,
)
from mailbot.cli.case_lines import forwarding_clocks, register_lines
from mailbot.errors import InputError
from mailbot.types import deliverable, looks_like_address


@workorders_app.command("list")
def workorders_list(
    as_json: JsonOption = False,
    status: Annotated[CaseStatus | None, typer.Option(help="Only this status.")] = None,
    office: Annotated[str | None, typer.Option(help="Only this office id.")] = None,
) -> None:
    """List work orders, oldest first."""
    from mailbot import engine
    from mailbot.cli import caselist  # SQLAlchemy Core: no ORM to load for a list

    settings = load_settings()
    with engine.reading(open_engine(settings)) as connection:
        rows = caselist.list_work_orders(
            connection, settings.timezone, status.value if status else None, office
        )
    if as_json:
        print_json(rows)
        return
    columns = [("NUMBER", None), ("STATUS", 9), ("OFFICE", 12), ("DUE", 10), ("CONTACT", 34),
               ("SUBJECT", 60)]  # fmt: skip
    cells = [
        (r["number"], "void" if r["void"] else r["status"], r["office"], r["due_at"][:10],
         _reach(r["contact"]), r["subject"])
        for r in rows
    ]  # fmt: skip
    print_table(columns, cells, f"{len(rows)} work order(s)")


def _reach(contact: dict[str, Any]) -> str:
    """The address, or for a citizen with none (counter, post, phone) the name and phone."""
    if contact["reachable"]:
        return str(contact["email"])
    phone = f"tel. {contact['phone']}" if contact["phone"] else "no e-mail"
    return ", ".join(part for part in (contact["name"], phone) if part)


@workorders_app.command("show")
def workorders_show(number: str, as_json: JsonOption = False, by: ActorOption = None) -> None:
    """One work order with its whole conversation; the view is recorded (who read it, when)."""
    from mailbot import db
    from mailbot.cases import views

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        views.record_view(session, number, actor_name(by), "cli")
        detail = views.show_work_order(
            session, number, settings.timezone, settings.charter.refund_late_factor
        )
        detail["forwarding"] = forwarding_clocks(session, settings, number)
    if as_json:
        print_json(detail)
        return
    contact = detail["contact"]
    echo(f"Pratica {detail['number']} — {detail['status']} — office {detail['office']}")
    if void := detail["void"]:
        echo(f"VOID (annullata) {void['at'][:10]} by {void['by']}: {void['reason']}")
    echo(f"Subject: {detail['subject']}")
    reach = f"<{contact['email']}>" if contact["reachable"] else "(no e-mail address)"
    echo(
        f"Contact: {contact['name']} {reach}"
        + (f" CF {contact['codice_fiscale']}" if contact["codice_fiscale"] else " (generic)")
    )
    if contact["phone"]:
        echo(f"Phone: {contact['phone']}")
    if given := detail["submitted"]:  # typed into the web form: nobody proved it
        typed = [given["name"] or "(no name)", given["email"], given["phone"]]
        echo("Web form (unverified): " + ", ".join(part for part in typed if part))
    if contact["postal_address"] or not contact["reachable"]:
        echo(f"Postal address: {contact['postal_address'] or '(not recorded)'}")
    match = detail["match"]
    verified = "sender verified" if contact["verified"] else "sender UNVERIFIED"
    candidates = f", candidates {', '.join(match['candidates'])}" if match["candidates"] else ""
    echo(f"Match: rule {match['rule']}, state {match['state']}, {verified}{candidates}")
    echo(f"Opened {detail['opened_at']}, due {detail['due_at']}")
    register_lines(detail)
    for message in detail["messages"]:
        arrow = "<-" if message["direction"] == "in" else "->"
        sender = message["from"] if deliverable(message["from"]) else contact["name"]
        echo(f"\n{arrow} {message['kind']} {message['date']} from {sender}")
        echo(f"   {message['subject']}")
        for attachment in message["attachments"]:
            echo(f"   [attachment] {attachment['filename']} ({attachment['size']} bytes)")
        if "pec" in message:
            certified = message["pec"]
            echo(f"   [PEC] {certified['state']} id {certified['provider_id'] or '-'}")
            for receipt in certified["receipts"]:
                details = [receipt["date"], receipt["recipient"], receipt["error"]]
                shown = ", ".join(d for d in details if d)
                echo(f"   [PEC] {receipt['type']} {shown} (signature {receipt['signature']})")
        echo("   " + message["body_text"].replace("\n", "\n   "))
    echo(
        "\nViewed: "
        + "; ".join(f"{v['at'][:16]} by {v['by']} ({v['via']})" for v in detail["views"])
    )


@workorders_app.command("link")
def workorders_link(
    number: str,
    code: Annotated[str, typer.Argument(help="Codice fiscale or partita IVA of the registry.")],
    operator: Annotated[str, typer.Option(help="Who says so (recorded in the audit trail).")],
) -> None:
    """Say who a case is about: links it to a registry entry, confirmed."""
    from mailbot.admin import rematch

    settings = load_settings()
    echo(rematch.link(services_for(settings, open_engine(settings)), number, code, operator))


@workorders_app.command("export")
def workorders_export(
    number: str,
    fmt: Annotated[
        str,
        typer.Option("--format", help="html or pdf, eml (with every original), evidence (ZIP)."),
    ] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    send_to: Annotated[
        str | None, typer.Option("--send-to", help="Mail the case file (eml) to this address.")
    ] = None,
    by: ActorOption = None,
) -> None:
    """The whole case: conversation, attachments list and event log."""
    from mailbot import runtime
    from mailbot.cases import evidence, transcript

    if fmt not in (formats := (*transcript.FORMATS, evidence.FORMAT)):
        raise InputError(f"--format: must be one of {', '.join(formats)}, got {fmt!r}")
    if fmt == evidence.FORMAT and send_to is not None:
        raise InputError("--send-to: the evidence file is not mailed; write it with --out FILE.zip")
    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    if send_to is not None:
        if not looks_like_address(send_to.strip().lower()):
            raise InputError(f"--send-to: {send_to!r} is not an email address")
        transcript.send(services, number, send_to.strip().lower())
        report = runtime.deliver_now(services)
        echo(f"case file of {number} queued for {send_to}; outbox: {report.sent} sent")
        return
    binary = {"pdf": ("a PDF", "fascicolo"), evidence.FORMAT: ("a ZIP archive", "conciliazione")}
    if fmt in binary and out is None:
        what, name = binary[fmt]
        suffix = "zip" if fmt == evidence.FORMAT else fmt
        refuse_binary_on_terminal(what, f"--out {name}-{number.replace('/', '-')}.{suffix}")
    if fmt == evidence.FORMAT:  # the conciliation file (issue 33); the export is recorded
        write_out(evidence.export(services, number, actor_name(by)), out)
    else:
        write_out(transcript.export(services, number, fmt), out)


def _act(number: str, operator: str, text: str, attach: list[Path] | None = None) -> None:
    """Carry out an operator's message from the command line, then try to send at once."""
    from mailbot.cases.operator import operator_action

    files = read_attachments(attach)
    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    echo(operator_action(services, number, operator, text, files))
    send_now(services)


@workorders_app.command("reply")
def workorders_reply(
    number: str,
    *,
    operator: OperatorOption,
    file: Annotated[
        Path, typer.Option("--file", help="Text of the reply (UTF-8); may start with commands.")
    ],
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="A file to attach; repeatable.")
    ] = None,
    answer: Annotated[
        bool, typer.Option("--answer", help="The reasoned reply (#risposta).")
    ] = False,
    interim: Annotated[bool, typer.Option("--interim", help="An interim message.")] = False,
) -> None:
    """Write to the citizen, as if the operator had replied by email."""
    if answer and interim:
        raise InputError("--answer and --interim cannot go together")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--file {file}: cannot read: {exc}") from None
    command = "#risposta\n" if answer else "#interlocutoria\n" if interim else ""
    _act(number, operator, command + text, attach)


@workorders_app.command("note")
def workorders_note(number: str, operator: OperatorOption, text: str) -> None:
    """Add an internal note (never sent to the citizen)."""
    _act(number, operator, f"#nota\n{text}")


@workorders_app.command("assign")
def workorders_assign(
    number: str,
    operator: OperatorOption,
    office: str,
    reason: Annotated[
        str, typer.Option("--reason", help="Why: the new office reads it in the covering note.")
    ] = "",
) -> None:
    """Hand the case to another office, which gets it with its attachments and a note."""
    _act(number, operator, f"#assegna {office} {' '.join(reason.split())}".strip())


@workorders_app.command("close")
def workorders_close(number: str, operator: OperatorOption) -> None:
    """Close the case (once: closing a closed case is refused, no second letter)."""
    _act(number, operator, "#chiudi")


@workorders_app.command("reopen")
def workorders_reopen(number: str, operator: OperatorOption) -> None:
    """Reopen a closed case."""
    _act(number, operator, "#riapri")


@workorders_app.command("category")
def workorders_category(
    number: str,
    category: Annotated[str, typer.Argument(help="A category id ([[categories]]).")],
    operator: OperatorOption,
) -> None:
    """Set the case's category, and so its service-charter term."""
    _act(number, operator, f"#categoria {category}\n#nota")


@workorders_app.command("extend")
def workorders_extend(
    number: str,
    days: Annotated[int, typer.Argument(help="Days added to the term.")],
    reason: Annotated[str, typer.Argument(help="Why: the citizen is told.")],
    operator: OperatorOption,
) -> None:
    """Extend the term (proroga); the citizen gets a notice with the reason and the new date."""
    _act(number, operator, f"#proroga {days} {reason}\n#nota")
