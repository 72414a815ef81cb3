"""`mailbot staff import FILE.csv`: many members at once, for a large office.

Columns (a header line, names in any case and order): name, email (or addresses), roles,
offices, desks; several values in a cell separated by ";" or ",". The file is untrusted: its
size and line count are bounded, each line is checked as `mailbot staff add` checks a member,
and every bad line is named with its line number and why. One bad line and nothing is
imported. A line whose address a stored member already has updates that member (and enables
it again) rather than adding a second one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from mailbot.admin import staff
from mailbot.config import Settings
from mailbot.errors import InputError
from mailbot.models import StaffMember
from mailbot.roles import Directory, Member

MAX_BYTES = 5_000_000
MAX_LINES = 50_000
COLUMNS = ("name", "email", "addresses", "roles", "offices", "desks")
DELIMITERS = (",", ";", "\t")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_text(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"FILE: {path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"FILE: {path}: larger than {MAX_BYTES // 1_000_000} MB")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def rows(text: str) -> list[tuple[int, dict[str, str]] | tuple[int, str]]:
    """(line, {column: cell}) for each record, or (line, why it cannot be read)."""
    header_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
    except (StopIteration, csv.Error):
        raise InputError("FILE: no header line (name, email, roles, offices, desks)") from None
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise InputError(
            f"FILE: line 1: no column {unknown[0]!r} (known: name, email or addresses, "
            "roles, offices, desks)"
        )
    if not {"email", "addresses"} & set(header) or "roles" not in header:
        raise InputError(
            "FILE: line 1: the header needs an email (or addresses) and a roles column"
        )
    found: list[tuple[int, dict[str, str]] | tuple[int, str]] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            found.append((start, f"cannot be read: {exc}"))
            break
        line = reader.line_num
        if len(found) >= MAX_LINES:
            raise InputError(f"FILE: more than {MAX_LINES} lines")
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            found.append((start, f"{len(cells)} fields, the header has {len(header)}"))
            continue
        found.append((start, dict(zip(header, cells, strict=False))))
    return found


def member_of(settings: Settings, cells: dict[str, str]) -> Member:
    def items(column: str) -> tuple[str, ...]:
        return staff.split([cells.get(column, "")])

    return staff.validate(
        settings,
        name=cells.get("name", ""),
        addresses=items("email") + items("addresses"),
        roles=items("roles"),
        offices=items("offices"),
        desks=items("desks"),
    )


def import_file(
    settings: Settings, session: Session, path: Path, actor: str, *, dry_run: bool = False
) -> ImportReport:
    """Check every line, then (unless `dry_run` or a line is bad) add or update each member
    in the caller's transaction. The report names each bad line."""
    report = ImportReport()
    planned: list[tuple[int, Member, staff.Stored | None]] = []
    seen: dict[str, int] = {}
    configured = settings.directory
    held = {address: other for other in staff.stored(session) for address in other.addresses}
    for line, record in rows(read_text(path)):
        if isinstance(record, str):
            report.rejected.append((line, record))
            continue
        try:
            member = member_of(settings, record)
        except staff.Invalid as bad:
            column = "email" if bad.field == "addresses" else bad.field
            report.rejected.append((line, f"{column}: {bad.reason}"))
            continue
        problem = _clash(configured, held, member, line, seen)
        if isinstance(problem, str):
            report.rejected.append((line, problem))
            continue
        planned.append((line, member, problem))
    _count(planned, report)
    if report.rejected or dry_run:
        return report
    for _line, member, existing in planned:
        if existing is None:
            staff.release(session, member.addresses)
            row = staff.write(session, StaffMember(created_by=actor), member)
        elif _same(existing, member):
            continue
        else:
            row = staff.write(session, existing.row, member)
        change = "added" if existing is None else "updated"
        staff.log_change(session, "staff.imported", row, member, actor, change=change)
    return report


def _clash(
    configured: Directory,
    held: dict[str, staff.Stored],
    member: Member,
    line: int,
    seen: dict[str, int],
) -> str | staff.Stored | None:
    """Why the line cannot be taken, or the stored member it updates (None: a new one)."""
    for address in member.addresses:
        if address in seen:
            return f"email: {address!r} already on line {seen[address]}"
        seen[address] = line
    taken = staff.configured_holder(configured, member.addresses)
    if taken is not None:
        address, holder = taken
        return f"email: {address!r} already belongs to {staff.describe_holder(holder)}"
    holders = list({id(h): h for a in member.addresses if (h := held.get(a))}.values())
    if len(holders) > 1:
        names = " and ".join(staff.describe_holder(h.member) for h in holders)
        return f"email: the addresses belong to two members: {names}"
    return holders[0] if holders else None


def _same(existing: staff.Stored, member: Member) -> bool:
    before = existing.member
    return (
        existing.row.disabled_at is None
        and set(before.addresses) == set(member.addresses)
        and (before.name, before.roles, before.offices, before.desks)
        == (member.name, member.roles, member.offices, member.desks)
    )


def _count(planned: list[tuple[int, Member, staff.Stored | None]], report: ImportReport) -> None:
    for _line, member, existing in planned:
        if existing is None:
            report.added += 1
        elif _same(existing, member):
            report.unchanged += 1
        else:
            report.updated += 1
