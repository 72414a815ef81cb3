"""Desks (sportelli): which desk a case is, and who signs what the citizen gets for it.

A case opened by a desk — typed in by one of its members (`workorders open`), or mailed to a
desk's own mailbox (`[[mailboxes]] desk`) — keeps the desk in `work_order.desk`. The desk
remains the citizen's interface: the competent office's answer reaches the citizen through it
(cases/approval.py holds it for the desk) and every letter the citizen gets for the case (the
relayed answer, an extension, the closing letter with the satisfaction request) is signed by
the desk, with its name, address and phone.
"""

from __future__ import annotations

from dataclasses import replace

from mailbot.config import OfficeSettings, Settings
from mailbot.errors import InputError
from mailbot.models import WorkOrder
from mailbot.roles import Directory


def signing_office(settings: Settings, work_order: WorkOrder) -> OfficeSettings:
    """The office as letters to the citizen name it: for a desk's case the desk's name, email
    and phone (the office's responsible and copies stay the office's), else the office."""
    office = settings.office(work_order.office)
    desk = settings.desks.get(work_order.desk) if work_order.desk else None
    if desk is None:
        return office
    return replace(office, name=desk.name, email=desk.email, phone=desk.phone or office.phone)


def desk_of_entry(settings: Settings, directory: Directory, operator: str, desk: str = "") -> str:
    """The desk a case typed in by `operator` belongs to: `desk` when given (it must exist),
    else the desk of a member with the desk role at exactly one desk, else "" (an office's)."""
    if desk:
        if desk not in settings.desks:
            known = ", ".join(settings.desks) or "none"
            raise InputError(f"--desk: no desk {desk!r} (known: {known}; see [[desks]])")
        return desk
    member = directory.member(operator)
    if member is None or "desk" not in member.roles:
        return ""
    desks = [d for d in member.desks if d in settings.desks]
    if len(desks) > 1:
        raise InputError(f"--desk: {operator} works at the desks {', '.join(desks)}: say which one")
    return desks[0] if desks else ""
