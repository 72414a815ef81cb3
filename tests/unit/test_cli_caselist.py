"""`workorders list` reads its rows through SQLAlchemy Core (`cli/caselist.py`, issue 32): the
same summaries, key for key and value for value, as the ORM's `cases.views.list_work_orders`,
for every filter, on cases of every shape (linked to a taxpayer or not, without an e-mail
address, closed, voided, with the charter's fields filled in), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from mailbot import db, engine, terminal
from mailbot.cases import views
from mailbot.cli import caselist
from mailbot.models import Contact, Taxpayer, WorkOrder

from support.app import complaint

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def seeded(services, process):
    for n in range(7):
        process(complaint(n, subject=["", "路灯坏了 🚧", "Buca\u202e in via Roma"][n % 3]))
    with db.unit_of_work(services.engine) as session:
        person = Taxpayer(codice_fiscale="RSSMRA80A01H501U", name="Mario Rossi",
                          postal_address="Via Roma 1, 00100 Roma")  # fmt: skip
        session.add(person)
        session.flush()
        cases = list(session.exec(select(WorkOrder).order_by(WorkOrder.id)))  # type: ignore[arg-type]
        linked, closed, voided, lettered, other_office, suspended = cases[:6]
        linked.taxpayer_id, linked.match_state, linked.match_candidates = person.id, "linked", "A,B"
        linked.match_confidence, linked.contact_verified = 0.87, True
        closed.status, closed.reasoned_reply_at, closed.closed_at = "closed", AT, AT
        closed.satisfaction, closed.refund_eur, closed.protocollo = 4, 25.5, "P/1, P/2"
        closed.outcome, closed.solution, closed.solution_due = (
            "fondato",
            "Rifatto",
            date(2026, 5, 4),
        )
        closed.category, closed.term_working, closed.extension_days = "strade", True, 15
        voided.voided_at, voided.void_reason, voided.voided_by = AT, "doppione", "admin@x.it"
        contact = session.get(Contact, lettered.contact_id)
        assert contact is not None
        contact.email, contact.phone = "no-email+7@invalid", "333 1234567"
        lettered.postal_address, lettered.channel, lettered.desk = "Via Po 2", "sportello", "urp-2"
        other_office.office, other_office.taxpayer_id = "lavori", person.id
        suspended.status = "suspended"
    return services


FILTERS = [(None, None), ("open", None), ("closed", None), ("suspended", "urp"), (None, "urp"),
           (None, "lavori"), ("open", "nessuno")]  # fmt: skip


@pytest.mark.parametrize(("status", "office"), FILTERS)
def test_the_list_read_through_core_is_the_orms(seeded, status, office):
    tz = seeded.settings.timezone
    with db.read_only(seeded.engine) as session:
        expected = views.list_work_orders(session, tz, status, office)
    with engine.reading(seeded.engine) as connection:
        listed = caselist.list_work_orders(connection, tz, status, office)
    assert listed == expected
    assert terminal.safe_json(listed) == terminal.safe_json(expected)  # --json, byte for byte
    for mine, theirs in zip(listed, expected, strict=True):  # bool stays bool, float float
        for key in ("contact", "match", "charter"):
            assert [type(v) for v in mine[key].values()] == [type(v) for v in theirs[key].values()]
    if (status, office) == (None, None):
        assert len(listed) == 7
        assert {row["contact"]["generic"] for row in listed} == {True, False}
        assert any(row["void"] for row in listed) and any(
            row["charter"]["solution_due"] for row in listed
        )


def test_a_list_takes_no_write_lock(seeded):
    """A list does not wait for the daemon's transaction, nor hold it up (SQLite)."""
    if seeded.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    with db.unit_of_work(seeded.engine) as session:  # a writer holds the lock meanwhile
        session.exec(select(WorkOrder).limit(1)).first()
        with engine.reading(seeded.engine) as connection:
            listed = caselist.list_work_orders(connection, seeded.settings.timezone)
    assert len(listed) == 7
