"""The staff directory kept in the database, for an office too large to list in the
configuration: `mailbot staff add|remove|list` (and `import`, admin/staff_csv.py).

A member is checked exactly as a `[[staff]]` entry is (config/staff_reader.py): known roles,
offices and desks, an operator or responsible with its offices, a desk member with its desk;
an address is one member's only, whether the configuration or the database names it. A
removed member is disabled, never deleted (the audit trail names it); its addresses are free
for someone else. Every change is an event; addresses are masked in the log and the events.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from mailbot.cases.staff import as_member, stored_members
from mailbot.config import Settings
from mailbot.config.staff_reader import check_scope
from mailbot.db import record_event
from mailbot.errors import ConfigError, InputError, NotFoundError
from mailbot.log import get_logger, mask_address
from mailbot.models import StaffAddress, StaffMember, utcnow
from mailbot.roles import ROLES, Directory, Member
from mailbot.types import looks_like_address, normalise_address

log = get_logger(__name__)

# What the command line calls each field of a member (admin/staff_csv.py: the column names).
OPTIONS = {
    "name": "--name",
    "addresses": "--email",
    "roles": "--role",
    "offices": "--office",
    "desks": "--desk",
}
SOURCES = {
    "config": "a [[staff]] entry of the configuration",
    "operators": "named by an office's operators, email, manager or copy_to",
    "database": "added with mailbot staff",
}


class Invalid(Exception):
    """A member's field is wrong: `field` (name, addresses, roles, offices, desks) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    """A member kept in the database, disabled or not."""

    row: StaffMember
    addresses: tuple[str, ...]

    @property
    def member(self) -> Member:
        return as_member(self.row, list(self.addresses))


def split(values: Iterable[str]) -> tuple[str, ...]:
    """Repeated options or a cell, each item possibly "a; b, c": the items, in order, once."""
    items = (item for value in values for item in re.split(r"[;,\s]+", value))
    return tuple(dict.fromkeys(item for item in items if item))


def validate(
    settings: Settings,
    *,
    name: str,
    addresses: Sequence[str],
    roles: Sequence[str],
    offices: Sequence[str] = (),
    desks: Sequence[str] = (),
) -> Member:
    """The member these values describe, checked as the configuration checks `[[staff]]`;
    `Invalid` names the field at fault."""
    name = name.strip()
    if len(name) > 255:
        raise Invalid("name", "at most 255 characters")
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise Invalid("name", "control characters are not allowed")
    found = tuple(dict.fromkeys(normalise_address(a) for a in addresses if a.strip()))
    if not found:
        raise Invalid("addresses", "give the member's email address")
    for address in found:
        if len(address) > 320 or not looks_like_address(address):
            raise Invalid("addresses", f"{address!r} is not an email address")
    granted = frozenset(r.strip().lower() for r in roles if r.strip())
    if not granted:
        raise Invalid("roles", f"give at least one of {', '.join(ROLES)}")
    for role in sorted(granted):
        if role not in ROLES:
            raise Invalid("roles", f"no role {role!r} (known: {', '.join(ROLES)})")
    member = Member(
        addresses=found,
        name=name,
        roles=granted,
        offices=_known(offices, settings.offices, "offices"),
        desks=_known(desks, settings.desks, "desks"),
        source="database",
    )
    try:
        check_scope(member, "")
    except ConfigError as exc:  # ".offices: an operator or responsible needs its offices"
        key, _, reason = str(exc).partition(": ")
        raise Invalid(key.lstrip("."), reason) from None
    return member


def _known(items: Sequence[str], known: Mapping[str, object], field: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(i.strip() for i in items if i.strip()))
    for item in ids:
        if item not in known:
            names = ", ".join(known) or "none"
            raise Invalid(field, f"no {field.rstrip('s')} {item!r} (known: {names})")
    return ids


def stored(session: Session, addresses: Iterable[str] | None = None) -> list[Stored]:
    """The database's members (disabled ones too), or those holding any of `addresses`."""
    query = select(StaffMember, StaffAddress.address).join(
        StaffAddress, col(StaffAddress.member_id) == col(StaffMember.id)
    )
    if addresses is not None:
        held = select(StaffAddress.member_id).where(col(StaffAddress.address).in_(addresses))
        query = query.where(col(StaffMember.id).in_(held))
    found: dict[int, tuple[StaffMember, list[str]]] = {}
    for row, address in session.exec(query.order_by(col(StaffMember.id), col(StaffAddress.id))):
        assert row.id is not None
        found.setdefault(row.id, (row, []))[1].append(address)
    return [Stored(row, tuple(held)) for row, held in found.values()]


def describe_holder(member: Member) -> str:
    """Whose an address is, for a refusal: "Anna Bianchi (added with mailbot staff)"."""
    who = member.name or ("the member " + ", ".join(member.addresses))
    return f"{who} ({SOURCES.get(member.source, member.source)})"


def configured_holder(configured: Directory, addresses: Iterable[str]) -> tuple[str, Member] | None:
    """The first of `addresses` the configuration already names, and whose it is."""
    for address in addresses:
        member = configured.member(address)
        if member is not None:
            return address, member
    return None


def add(
    settings: Settings,
    session: Session,
    member: Member,
    actor: str,
) -> StaffMember:
    """Keep a new member (validated by `validate`). An address a configured or an active
    stored member has is refused, naming who has it; a disabled member's is taken over."""
    taken = configured_holder(settings.directory, member.addresses)
    if taken is not None:
        address, holder = taken
        raise InputError(f"--email: {address!r} already belongs to {describe_holder(holder)}")
    for other in stored(session, member.addresses):
        clash = next(a for a in other.addresses if a in member.addresses)
        if other.row.disabled_at is None:
            who = describe_holder(other.member)
            raise InputError(f"--email: {clash!r} already belongs to {who}")
    release(session, member.addresses)
    row = write(session, StaffMember(created_by=actor), member)
    log_change(session, "staff.added", row, member, actor)
    return row


def release(session: Session, addresses: Sequence[str]) -> None:
    """Free addresses that disabled members still hold, for the member taking them over."""
    for held in session.exec(
        select(StaffAddress).where(col(StaffAddress.address).in_(addresses))
    ).all():
        session.delete(held)
    session.flush()


def write(session: Session, row: StaffMember, member: Member) -> StaffMember:
    """`row` as `member` says (roles in the role table's order), with exactly its addresses."""
    row.name = member.name
    row.roles = ",".join(r for r in ROLES if r in member.roles)
    row.offices = ",".join(member.offices)
    row.desks = ",".join(member.desks)
    row.disabled_at = None
    session.add(row)
    session.flush()
    current = session.exec(select(StaffAddress).where(StaffAddress.member_id == row.id)).all()
    for held in current:
        if held.address not in member.addresses:
            session.delete(held)
    session.flush()
    have = {held.address for held in current}
    assert row.id is not None
    for address in member.addresses:
        if address not in have:
            session.add(StaffAddress(member_id=row.id, address=address))
    session.flush()
    return row


def log_change(
    session: Session, kind: str, row: StaffMember, member: Member, actor: str, **extra: str
) -> None:
    """The event, and the log line, of a change to a stored member."""
    masked = [mask_address(a) for a in member.addresses]
    facts: dict[str, Any] = {
        "member_id": row.id,
        "name": member.name,
        "roles": row.roles,
        "offices": row.offices,
        "desks": row.desks,
        "addresses": masked,
        **extra,
    }
    record_event(session, kind, actor=actor, **facts)
    log.info(kind, actor=actor, **facts)


def remove(settings: Settings, session: Session, address: str, actor: str) -> Member:
    """Disable the stored member holding `address` (the row stays, its addresses are free)."""
    address = normalise_address(address)
    for other in stored(session, [address]):
        if other.row.disabled_at is None:
            other.row.disabled_at = utcnow()
            session.add(other.row)
            log_change(session, "staff.removed", other.row, other.member, actor)
            return other.member
    configured = settings.directory.member(address)
    if configured is not None:
        raise InputError(
            f"ADDRESS: {address!r} belongs to {describe_holder(configured)}: remove it from "
            "the configuration"
        )
    raise NotFoundError(f"no staff member has the address {address!r}")


def members(
    settings: Settings, session: Session, *, office: str | None = None, desk: str | None = None
) -> list[Member]:
    """Everyone, the configuration's first: those of `office` (its operators, responsible and
    the supervisors over it) or of `desk` only, when given."""
    if office is not None and office not in settings.offices:
        raise InputError(f"--office: no office {office!r} (known: {', '.join(settings.offices)})")
    if desk is not None and desk not in settings.desks:
        known = ", ".join(settings.desks) or "none"
        raise InputError(f"--desk: no desk {desk!r} (known: {known})")
    everyone = [*settings.staff, *stored_members(session)]
    return [
        m
        for m in everyone
        if (office is None or office in m.offices or m.oversees(office))
        and (desk is None or desk in m.desks)
    ]
