"""A missed-term cause corrected after the fact (review finding 10): the late-reply indemnity
it refused falls due again as the same refund, its pay-by date still counted from the late
reply; a paid indemnity is never reopened nor owed twice."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from mailbot.cases.operator import operator_action
from mailbot.models import Event, Refund, WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"
REPLIED = "2026-06-03T09:00:00+00:00"  # working day 31 after 17 April 2026: 30 EUR owed


@pytest.fixture
def water(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra='[charter.indemnity]\nprofile = "arera_water"\n'
        '[charter.reply_checks]\nmode = "off"\n',
    )
    path.write_text(
        path.read_text().replace(
            "response_days = 30\n", "response_days = 30\nworking_days = true\n"
        )
    )
    services = make_services(path)
    yield services
    services.engine.dispose()


def _late_cases(services, count: int) -> list[str]:
    process = make_process(services)
    for n in range(1, count + 1):
        process(complaint(n), received_at=datetime(2026, 4, 17, 8, tzinfo=UTC))
    numbers = [wo.number for wo in rows(services, WorkOrder)]
    for number in numbers:
        operator_action(services, number, OPERATOR, "#risposta\nEcco la risposta motivata.")
    return numbers


def _refunds(services, number: str) -> list[Refund]:
    with Session(services.engine) as session:
        wo = session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        query = select(Refund).where(Refund.work_order_id == wo.id).order_by(col(Refund.id))
        return list(session.exec(query))


def _cause(services, number: str, word: str, on: date) -> None:
    with today_is(datetime(on.year, on.month, on.day, 9, tzinfo=UTC)):
        operator_action(services, number, OPERATOR, f"#causa {word}\n#nota")


@pytest.mark.today(REPLIED)
def test_a_corrected_cause_makes_the_same_refund_due_again_with_its_pay_by(water, now):
    [number] = _late_cases(water, 1)
    [due] = _refunds(water, number)
    pay_by = date(2026, 6, 3) + timedelta(days=water.settings.charter.refund_pay_days)
    assert (due.state, due.amount_eur, due.pay_by) == ("due", 30.0, pay_by)

    _cause(water, number, "cliente-terzi", date(2026, 6, 10))
    [refused] = _refunds(water, number)
    assert (refused.id, refused.state) == (due.id, "refused")

    _cause(water, number, "gestore", date(2026, 6, 20))
    [again] = _refunds(water, number)
    assert (again.id, again.state, again.amount_eur) == (due.id, "due", 30.0)
    assert again.pay_by == pay_by  # from the late reply, not from the correction
    assert (again.note, again.decided_by, again.decided_at) == ("", "", None)
    with Session(water.engine) as session:
        [event] = session.exec(
            select(Event).where(Event.kind == "work_order.refund_due_again")
        ).all()
    said = json.loads(event.data)
    assert said["refund_id"] == str(due.id) and said["pay_by"] == pay_by.isoformat()
    assert said["refused_because"] == "causa imputabile al cliente o a terzi"

    # Said once more: still the one refund.
    _cause(water, number, "gestore", date(2026, 6, 21))
    assert len(_refunds(water, number)) == 1

    cfg = str(water.settings.source_path)
    listed = json.loads(run_cli("--config", cfg, "refunds", "list", "--json").stdout)
    assert [(r["id"], r["state"], r["owed_eur"], r["pay_by"]) for r in listed] == [
        (due.id, "due", 30.0, pay_by.isoformat())
    ]
    register = run_cli("--config", cfg, "report", "register", "--year", "2026")
    assert register.returncode == 0, register.stderr
    [line] = csv.DictReader(io.StringIO(register.stdout.lstrip("\ufeff")), delimiter=";")
    assert line["Stato rimborso"] == "dovuto"


@pytest.mark.today(REPLIED)
def test_a_paid_indemnity_is_neither_reopened_nor_owed_twice(water, now):
    [number] = _late_cases(water, 1)
    [due] = _refunds(water, number)
    cfg = str(water.settings.source_path)
    paid = run_cli(
        "--config", cfg, "refunds", "pay", str(due.id), "--operator", OPERATOR,
        "--reference", "bolletta n. 2026/0815",
    )  # fmt: skip
    assert paid.returncode == 0, paid.stderr

    _cause(water, number, "cliente-terzi", date(2026, 6, 10))
    _cause(water, number, "gestore", date(2026, 6, 20))
    [still] = _refunds(water, number)
    assert (still.id, still.state, still.paid_eur, still.note) == (
        due.id, "paid", 30.0, "bolletta n. 2026/0815",
    )  # fmt: skip


@pytest.mark.today(REPLIED)
def test_a_late_reply_excluded_from_the_start_owes_from_the_reply_once_corrected(water, now):
    process = make_process(water)
    process(complaint(1), received_at=datetime(2026, 4, 17, 8, tzinfo=UTC))
    [number] = [wo.number for wo in rows(water, WorkOrder)]
    operator_action(water, number, OPERATOR, "#causa cliente-terzi\n#risposta\nEcco.")
    assert _refunds(water, number) == []

    _cause(water, number, "gestore", date(2026, 7, 1))
    [due] = _refunds(water, number)
    days = water.settings.charter.refund_pay_days
    assert (due.state, due.pay_by) == ("due", date(2026, 6, 3) + timedelta(days=days))


@pytest.mark.today(REPLIED)
def test_the_cli_says_what_it_recorded_and_where_the_indemnity_stands(water, now):
    """Review finding 11: not "not relayed (note)" but the cause or the minimum data."""
    [number] = _late_cases(water, 1)
    cfg = str(water.settings.source_path)

    def cli(command: str, *rest: str) -> str:
        done = run_cli(
            "--config", cfg, "workorders", command, number, *rest, "--operator", OPERATOR
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "relayed" not in done.stdout
        return done.stdout.strip()

    said = cli("cause", "cliente-terzi")
    assert said == (
        f"{number}: missed-term cause recorded: user_or_third_party; "
        "late-reply indemnity refused; status open"
    )
    assert cli("cause", "gestore") == (
        f"{number}: missed-term cause recorded: operator; late-reply indemnity due; status open"
    )
    assert cli("incomplete") == (
        f"{number}: recorded: the minimum data are missing; late-reply indemnity refused; "
        "status open"
    )
    assert cli("incomplete", "--undo").startswith(
        f"{number}: recorded: the minimum data were given; late-reply indemnity due"
    )
    wrong = run_cli(
        "--config", cfg, "workorders", "cause", number, "boh", "--operator", OPERATOR
    )  # fmt: skip
    assert wrong.returncode == 2 and "'boh' is not a cause" in wrong.stderr
