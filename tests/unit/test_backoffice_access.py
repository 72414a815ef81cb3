"""Who sees which case (cases/access.py): the SQL filter the lists use and the check the case
page makes agree for every role, and an action is allowed exactly where the role table says."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from mailbot.cases import access
from mailbot.models import WorkOrder
from mailbot.roles import Member

AT = datetime(2026, 3, 11, 9, tzinfo=UTC)
MEMBERS = {
    "operator": Member(("op@x.it",), roles=frozenset({"operator"}), offices=("tributi",)),
    "responsible": Member(("dir@x.it",), roles=frozenset({"responsible"}), offices=("tributi",)),
    "supervisor": Member(("urp@x.it",), roles=frozenset({"supervisor"})),
    "supervisor_of_one": Member(
        ("sup@x.it",), roles=frozenset({"supervisor"}), offices=("ambiente",)
    ),
    "desk": Member(("desk@x.it",), roles=frozenset({"desk"}), desks=("nord",)),
    "admin": Member(("admin@x.it",), roles=frozenset({"admin"})),
    "nobody": Member(("nobody@x.it",)),
}
CASES = [
    (office, desk, status)
    for office, desk, status in itertools.product(
        ("tributi", "ambiente"), ("", "nord", "sud"), ("open", "suspended", "closed")
    )
]


@pytest.fixture
def cases() -> Session:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[WorkOrder.__table__])  # type: ignore[list-item]
    session = Session(engine)
    for n, (office, desk, status) in enumerate(CASES, start=1):
        session.add(
            WorkOrder(
                number=f"2026/{n:06d}",
                status=status,
                office=office,
                desk=desk,
                mailbox="m",
                contact_id=1,
                match_rule="r",
                match_confidence=1.0,
                received_at=AT,
                due_at=AT,
                reply_token=f"t{n}",
            )
        )
    session.commit()
    return session


@pytest.mark.parametrize("role", sorted(MEMBERS))
def test_the_lists_filter_and_the_case_page_agree(cases: Session, role: str) -> None:
    member = MEMBERS[role]
    listed = {wo.number for wo in cases.exec(select(WorkOrder).where(access.visible(member)))}
    checked = {wo.number for wo in cases.exec(select(WorkOrder)) if access.can_see(member, wo)}
    assert listed == checked
    for wo in cases.exec(select(WorkOrder)):
        found = access.case_for(cases, member, wo.number)
        assert (found is not None) == (wo.number in listed)


def test_who_sees_what(cases: Session) -> None:
    def seen(role: str) -> set[tuple[str, str, str]]:
        member = MEMBERS[role]
        return {
            (wo.office, wo.desk, wo.status)
            for wo in cases.exec(select(WorkOrder).where(access.visible(member)))
        }

    every = set(CASES)
    assert seen("admin") == every == seen("supervisor")
    assert seen("operator") == {c for c in every if c[0] == "tributi"} == seen("responsible")
    assert seen("supervisor_of_one") == {c for c in every if c[0] == "ambiente"}
    # A desk: its own cases, and the archive of closed cases all desks consult.
    assert seen("desk") == {c for c in every if c[1] == "nord" or c[2] == "closed"}
    assert seen("nobody") == set()
    assert access.case_for(cases, None, "2026/000001") is None


def test_actions_follow_the_role_table(cases: Session) -> None:
    own = cases.exec(select(WorkOrder).where(WorkOrder.office == "tributi")).first()
    assert own is not None
    assert access.allowed(MEMBERS["operator"], own) >= {"reply", "note", "close", "classify"}
    assert "assign" not in access.allowed(MEMBERS["operator"], own)
    assert "assign" in access.allowed(MEMBERS["responsible"], own)
    urp = access.allowed(MEMBERS["supervisor"], own)
    assert {"note", "assign", "classify", "transcript"} <= urp and "reply" not in urp
    # A closed case of another desk: the archive lets a desk read it, not act on it.
    other = cases.exec(
        select(WorkOrder).where(WorkOrder.desk == "sud").where(WorkOrder.status == "closed")
    ).first()
    assert other is not None
    assert access.allowed(MEMBERS["desk"], other) == {"transcript"}
    with pytest.raises(access.ForbiddenError):
        access.require(MEMBERS["desk"], "note", other)
    assert access.allowed(MEMBERS["nobody"], own) == frozenset()
