"""The institution's people in the configuration: `[[desks]]` and `[[staff]]`, and the members
today's office keys already name (an office's `operators` are its operators, its `manager` its
responsible, its `copy_to` a supervisor of it), so a configuration written before roles existed
means what it always meant; a desk's own address is a member of that desk. The role table
itself is `mailbot/roles.py`.
"""

from __future__ import annotations

from collections.abc import Mapping

from mailbot.config.settings import DeskSettings, OfficeSettings
from mailbot.config.table import Table
from mailbot.errors import ConfigError
from mailbot.roles import ROLES, Member
from mailbot.types import looks_like_address


def read_desks(tables: list[Table]) -> dict[str, DeskSettings]:
    desks: dict[str, DeskSettings] = {}
    for t in tables:
        desk_id = t.identifier("id", "desk", desks)
        desks[desk_id] = DeskSettings(
            id=desk_id,
            name=t.text("name"),
            email=t.email("email"),
            phone=t.text("phone", ""),
        )
        t.done()
    return desks


def read_staff(
    tables: list[Table],
    offices: Mapping[str, OfficeSettings],
    desks: Mapping[str, DeskSettings],
) -> tuple[Member, ...]:
    """The `[[staff]]` entries, then the members the offices' keys imply (an address an entry
    names is that entry's alone)."""
    members: list[Member] = []
    seen: dict[str, str] = {}
    for t in tables:
        member = read_member(t, offices, desks)
        for address in member.addresses:
            if address in seen:
                raise ConfigError(
                    f"{t.where}.addresses: {address!r} is already {seen[address]}'s address"
                )
            seen[address] = t.where
        members.append(member)
    implied = implied_members(offices, frozenset(seen))
    taken = frozenset(seen) | {a for m in implied for a in m.addresses}
    desk_boxes = tuple(  # a desk's own address is the desk's voice, as an office's is
        Member((d.email,), roles=frozenset({"desk"}), desks=(d.id,), source="operators")
        for d in desks.values()
        if d.email not in taken
    )
    return (*members, *implied, *desk_boxes)


def read_member(
    t: Table, offices: Mapping[str, OfficeSettings], desks: Mapping[str, DeskSettings]
) -> Member:
    addresses = tuple(a.strip().lower() for a in t.str_list("addresses"))
    if "email" in t.data:
        addresses = (t.email("email").lower(), *addresses)
    if not addresses:
        raise ConfigError(f"{t.where}: give the member's email (or addresses = [...])")
    for address in addresses:
        if not looks_like_address(address):
            raise ConfigError(f"{t.where}.addresses: {address!r} is not an email address")
    roles = frozenset(r.strip().lower() for r in t.str_list("roles"))
    if not roles:
        raise ConfigError(f"{t.where}.roles: give at least one of {', '.join(ROLES)}")
    for role in roles:
        if role not in ROLES:
            raise ConfigError(f"{t.where}.roles: no role {role!r} (known: {', '.join(ROLES)})")
    member = Member(
        addresses=addresses,
        name=t.text("name", ""),
        roles=roles,
        offices=_ids(t, "offices", offices),
        desks=_ids(t, "desks", desks),
        reach=_ids(t, "oversees", offices),
    )
    t.done()
    check_scope(member, t.where)
    return member


def check_scope(member: Member, where: str) -> None:
    """An operator or responsible needs an office, a desk member a desk: a role that applies
    nowhere would silently do nothing."""
    if {"operator", "responsible"} & member.roles and not member.offices:
        raise ConfigError(f"{where}.offices: an operator or responsible needs its offices")
    if "desk" in member.roles and not member.desks:
        raise ConfigError(f"{where}.desks: a desk member needs its desk")


def _ids(t: Table, key: str, known: Mapping[str, object]) -> tuple[str, ...]:
    ids = tuple(i.strip() for i in t.str_list(key))
    for item in ids:
        if item not in known:
            what = key.rstrip("s")
            names = ", ".join(known) or "none"
            raise ConfigError(f"{t.where}.{key}: no {what} {item!r} (known: {names})")
    return ids


def implied_members(
    offices: Mapping[str, OfficeSettings], taken: frozenset[str] = frozenset()
) -> tuple[Member, ...]:
    """What `operators`, `manager` and `copy_to` have always said, as members: one per
    address, with every office it is named for."""
    found: dict[str, tuple[set[str], list[str], list[str]]] = {}

    def add(address: str, role: str, office: str) -> None:
        if not address or address in taken:
            return
        roles, names, reach = found.setdefault(address, (set(), [], []))
        roles.add(role)
        scope = reach if role == "supervisor" else names  # a copy_to oversees, never speaks
        if office not in scope:
            scope.append(office)

    for office in offices.values():
        for operator in office.operators:
            add(operator, "operator", office.id)
        add(office.email, "operator", office.id)  # the office's own address speaks for it
        add(office.manager, "responsible", office.id)
        add(office.copy_to, "supervisor", office.id)
    return tuple(
        Member(
            (address,),
            roles=frozenset(roles),
            offices=tuple(names),
            reach=tuple(reach),
            source="operators",
        )
        for address, (roles, names, reach) in found.items()
    )
