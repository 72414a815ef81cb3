"""`mailbot staff roles|list|add|remove|import`: the role table (mailbot/roles.py), and the
members kept in the database beside the configuration's (admin/staff.py, admin/staff_csv.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli.app import (
    ActorOption,
    JsonOption,
    actor_name,
    echo,
    load_settings,
    open_engine,
    print_json,
    print_table,
    staff_app,
)
from mailbot.errors import InputError
from mailbot.roles import Member, describe


class Language(StrEnum):
    IT = "it"
    EN = "en"


@staff_app.command("roles")
def staff_roles(
    language: Annotated[
        Language, typer.Option("--language", help="Say what each role may do in it or en.")
    ] = Language.EN,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="As a Markdown table (README's).")
    ] = False,
) -> None:
    """Every role and what it may do: the one table the mail flows and the web read."""
    table = describe(language.value)
    if markdown:
        echo(roles_markdown(table))
        return
    cells = [
        (role if i == 0 else "", permission)
        for role, permissions in table
        for i, permission in enumerate(permissions)
    ]
    print_table([("ROLE", 12), ("MAY", None)], cells, f"{len(table)} roles")


def roles_markdown(table: list[tuple[str, list[str]]]) -> str:
    lines = ["| role | what it may do |", "|---|---|"]
    lines += [f"| {role} | {'; '.join(permissions)} |" for role, permissions in table]
    return "\n".join(lines)


@staff_app.command("list")
def staff_list(
    office: Annotated[
        str | None, typer.Option("--office", help="Only this office's members and supervisors.")
    ] = None,
    desk: Annotated[str | None, typer.Option("--desk", help="Only this desk's members.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Everyone on the institution's side: the configuration's members ([[staff]], and those
    its offices' operators, manager and copy_to imply), then those added here."""
    from mailbot import db
    from mailbot.admin import staff

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        found = staff.members(settings, session, office=office, desk=desk)
    if as_json:
        print_json([_as_dict(m) for m in found])
        return
    cells = [(m.name or "-", ", ".join(m.addresses), _roles(m), _where(m), m.source) for m in found]
    columns = [("MEMBER", 30), ("ADDRESSES", 60), ("ROLES", 30), ("OFFICES/DESKS", 40)]
    print_table([*columns, ("SOURCE", 9)], cells, f"{len(found)} member(s)")


def _roles(member: Member) -> str:
    from mailbot.roles import ROLES

    return ", ".join(r for r in ROLES if r in member.roles)


def _where(member: Member) -> str:
    places = [*member.offices, *(f"desk {d}" for d in member.desks)]
    if not member.offices and {"supervisor", "admin"} & member.roles:
        places.insert(0, "every office")
    return ", ".join(places) or "-"


def _as_dict(member: Member) -> dict[str, object]:
    return {
        "name": member.name,
        "addresses": list(member.addresses),
        "roles": _roles(member).split(", ") if member.roles else [],
        "offices": list(member.offices),
        "desks": list(member.desks),
        "source": member.source,
    }


@staff_app.command("add")
def staff_add(
    *,
    email: Annotated[list[str], typer.Option("--email", help="The member's address; repeatable.")],
    role: Annotated[
        list[str], typer.Option("--role", help="operator, responsible, supervisor, desk or admin.")
    ],
    name: Annotated[str, typer.Option("--name", help="Name, as staff lists show it.")] = "",
    office: Annotated[
        list[str] | None, typer.Option("--office", help="An office the roles apply to.")
    ] = None,
    desk: Annotated[
        list[str] | None, typer.Option("--desk", help="A desk, for the desk role.")
    ] = None,
    by: ActorOption = None,
) -> None:
    """Add a member, checked as a [[staff]] entry is; options repeat for several values."""
    from mailbot import db
    from mailbot.admin import staff

    settings = load_settings()
    try:
        member = staff.validate(
            settings,
            name=name,
            addresses=staff.split(email),
            roles=staff.split(role),
            offices=staff.split(office or []),
            desks=staff.split(desk or []),
        )
    except staff.Invalid as bad:
        raise InputError(f"{staff.OPTIONS[bad.field]}: {bad.reason}") from None
    with db.unit_of_work(open_engine(settings)) as session:
        staff.add(settings, session, member, actor_name(by))
    echo(f"added {member.name or member.address}: {_roles(member)} ({_where(member)})")


@staff_app.command("remove")
def staff_remove(
    address: Annotated[str, typer.Argument(help="One of the member's addresses.")],
    by: ActorOption = None,
) -> None:
    """Disable a member added here (kept for the audit trail; its mail is a citizen's again)."""
    from mailbot import db
    from mailbot.admin import staff

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        member = staff.remove(settings, session, address, actor_name(by))
    echo(f"removed {member.name or member.address}")


@staff_app.command("import")
def staff_import(
    file: Annotated[Path, typer.Argument(help="CSV: name, email, roles, offices, desks.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every line and report; change nothing.")
    ] = False,
    by: ActorOption = None,
) -> None:
    """Add or update members from a CSV file (a header line; several values in a cell
    separated by ";" or ","). One bad line and nothing is imported."""
    from mailbot import db
    from mailbot.admin import staff_csv

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        report = staff_csv.import_file(settings, session, file, actor_name(by), dry_run=dry_run)
    for line, reason in report.rejected:
        echo(f"line {line}: {reason}", err=True)
    if report.rejected:
        raise InputError(f"{file}: {len(report.rejected)} bad line(s), nothing imported")
    echo(
        ("dry run, nothing changed: " if dry_run else "")
        + f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}"
    )
