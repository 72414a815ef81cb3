"""Who may see which case and do what to it: the one place every door asks (DESIGN.md
"authorization in one place"). The back office's lists and pages filter their queries with
`visible`, open a case with `case_for` (None: the page answers 404, as if there were no such
case) and check an action with `require` (ForbiddenError: 403); the mail flows and the CLI
ask the same role table (roles.py) through `Member.may_on`.

A member sees a case when one of its roles applies to the case and grants a `case.see.*`
permission (an operator or responsible: the cases of their offices; a supervisor: those
within its reach; a desk: those it opened; an admin: all), and every closed case when a role
grants `case.see.archive` (the archive all desks consult; a supervisor's stays within its
reach). `visible` (SQL) and `can_see`
(Python) say the same; a test walks both over every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.cases.workorders import CLOSED
from mailbot.errors import ForbiddenError

__all__ = [
    "ACTIONS",
    "ForbiddenError",
    "ReportScope",
    "allowed",
    "can_see",
    "case_for",
    "may",
    "reports_scope",
    "require",
    "visible",
]
from mailbot.models import WorkOrder
from mailbot.roles import ROLES, Member

SEE = ("case.see.office", "case.see.all", "case.see.desk")
ARCHIVE = "case.see.archive"
# A supervisor's reach bounds everything it sees, the archive included; a desk consults the
# archive of every closed case.
_REACH_BOUND = frozenset({"supervisor"})
# What each action of the back office (and the CLI) needs on the case, beside seeing it.
ACTIONS: Mapping[str, str] = {
    "reply": "case.reply",  # to the citizen, as the office (also #interlocutoria, #chiudi)
    "close": "case.reply",
    "reopen": "case.reply",
    "suspend": "case.reply",
    "resume": "case.reply",
    "extend": "case.reply",
    "outcome": "case.reply",  # #esito, #soluzione, #azione, #causa, #incompleto: the register
    "forward": "case.reply",  # to a third party: a contractor, another administration
    "note": "case.note",
    "assign": "case.assign",
    "classify": "case.classify",  # #tipo, #categoria, #protocollo
    "approve": "case.relay",  # a desk's approval of the office's answer
    "transcript": "",  # whoever sees the case may have its file mailed to them
}


def can_see(member: Member | None, case: WorkOrder) -> bool:
    if member is None:
        return False
    granted = _granted(member, case)
    if any(permission in granted for permission in SEE):
        return True
    return case.status == CLOSED and _archive(member)


def may(member: Member | None, action: str, case: WorkOrder) -> bool:
    """Whether `member` may do `action` (a key of ACTIONS) to `case`."""
    if not can_see(member, case):
        return False
    assert member is not None
    needed = ACTIONS[action]
    return not needed or needed in _granted(member, case)


def require(member: Member | None, action: str, case: WorkOrder) -> None:
    if not may(member, action, case):
        raise ForbiddenError(f"{action} on {case.number}: not allowed for this member's roles")


def allowed(member: Member | None, case: WorkOrder) -> frozenset[str]:
    """Every action `member` may do to `case`: what the case page offers."""
    return frozenset(action for action in ACTIONS if may(member, action, case))


def visible(member: Member | None) -> Any:
    """The SQL condition on work_order for the cases `member` sees (false for nobody)."""
    if member is None:
        return sa.false()
    if "admin" in member.roles:
        return sa.true()
    either: list[Any] = []
    if {"operator", "responsible"} & member.roles and member.offices:
        either.append(col(WorkOrder.office).in_(member.offices))
    if "supervisor" in member.roles:
        reach = member.reach or member.offices
        if not reach:
            return sa.true()
        either.append(col(WorkOrder.office).in_(reach))
    if "desk" in member.roles and member.desks:
        either.append(col(WorkOrder.desk).in_(member.desks))
    if _archive(member):
        either.append(col(WorkOrder.status) == CLOSED)
    return sa.or_(*either) if either else sa.false()


@dataclass(frozen=True)
class ReportScope:
    """Whose register and reports a member may read: everyone's (`reports.all`: supervisors,
    admins), its desks' own clientele (`reports.desk`, as `report register --desk`), or none."""

    everyone: bool = False
    desks: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return self.everyone or bool(self.desks)


def reports_scope(member: Member | None) -> ReportScope:
    """The register and reports `member` may read (`ReportScope().any` false: answer 403)."""
    if member is None:
        return ReportScope()
    if member.may("reports.all"):
        return ReportScope(everyone=True)
    if member.may("reports.desk") and member.desks:
        return ReportScope(desks=member.desks)
    return ReportScope()


def case_for(session: Session, member: Member | None, number: str) -> WorkOrder | None:
    """The case numbered `number` if `member` sees it, else None (the same for no such case)."""
    query = select(WorkOrder).where(WorkOrder.number == number).where(visible(member))
    return session.exec(query).first()


def _archive(member: Member) -> bool:
    """Whether a role lets `member` consult every closed case."""
    return any(ARCHIVE in ROLES.get(role, ()) for role in member.roles - _REACH_BOUND)


def _granted(member: Member, case: WorkOrder) -> frozenset[str]:
    roles = member.roles_on(case.office, case.desk)
    return frozenset().union(*(ROLES[role] for role in roles if role in ROLES))
