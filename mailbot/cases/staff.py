"""Who on the institution's side a sender is: the configured members (`Settings.directory`)
and those an admin added with `mailbot staff add|import` (the `staff_member` table). The role
table is `mailbot/roles.py`; the flows ask here, never the settings' `operators` directly.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.models import StaffAddress, StaffMember
from mailbot.roles import Directory, Member
from mailbot.services import Services


def directory(services: Services, session: Session) -> Directory:
    """Everyone: the configuration's members first, then the database's."""
    return services.settings.directory.with_members(stored_members(session))


def is_staff_address(services: Services, session: Session, address: str) -> bool:
    """Whether `address` is an office's or a member's (configured or stored): what
    `directory(...).addresses()` would say, asked of the unique index for the stored ones
    instead of loading every member (it runs for every mail that arrives)."""
    settings = services.settings
    if address in settings.directory.addresses() or any(
        o.email == address for o in settings.offices.values()
    ):
        return True
    found = session.connection().execute(_STORED_ADDRESS, {"address": address})
    return found.first() is not None


# Built once, run on the session's connection: members are written by `mailbot staff`, in
# transactions of their own, so there is nothing for an autoflush to write first.
_STORED_ADDRESS = (
    sa.select(StaffAddress.__table__.c.id)  # type: ignore[attr-defined]
    .join(StaffMember, col(StaffAddress.member_id) == col(StaffMember.id))
    .where(
        col(StaffAddress.address) == sa.bindparam("address"),
        col(StaffMember.disabled_at).is_(None),
    )
    .limit(1)
)


def stored_members(session: Session) -> tuple[Member, ...]:
    """The active members kept in the database (`mailbot staff add|import`), in the order
    they were added, each with its addresses in theirs: one query over both tables (it runs
    for every mail on a case's thread)."""
    query = (
        select(StaffMember, StaffAddress.address)
        .join(StaffAddress, col(StaffAddress.member_id) == col(StaffMember.id))
        .where(col(StaffMember.disabled_at).is_(None))
        .order_by(col(StaffMember.id), col(StaffAddress.id))
    )
    found: dict[int, tuple[StaffMember, list[str]]] = {}
    for row, address in session.exec(query):
        assert row.id is not None
        found.setdefault(row.id, (row, []))[1].append(address)
    return tuple(as_member(row, addresses) for row, addresses in found.values())


def as_member(row: StaffMember, addresses: list[str]) -> Member:
    return Member(
        addresses=tuple(addresses),
        name=row.name,
        roles=frozenset(ids(row.roles)),
        offices=ids(row.offices),
        desks=ids(row.desks),
        source="database",
    )


def ids(text: str) -> tuple[str, ...]:
    """ "a,b" → ("a", "b"): how the table keeps roles, offices and desks."""
    return tuple(item for item in text.split(",") if item)
