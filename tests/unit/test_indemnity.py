"""Indemnities as rules (issue 33, items 2-3): the ARERA water profile's 30/60/90 EUR by how
late the reasoned reply was in working days, its exclusions (missed-term cause, minimum data
missing), payment on a bill with its reference or refusal with a reason; the default profile
is today's refunds, unchanged."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from mailbot import config
from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError, InputError
from mailbot.models import Event, Refund, WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config

OPERATOR = "mario.rossi@comune.example.it"
TODAY = "2026-06-03T09:00:00+00:00"  # a Wednesday, the day after the Festa della Repubblica
# The national holidays between January and June 2026 that fall on a weekday.
HOLIDAYS = {date(2026, 4, 6), date(2026, 5, 1), date(2026, 6, 2)}  # Pasquetta, 1 May, 2 June


def working_days_after(received: date, answered: date) -> int:
    """Mondays to Fridays after `received` up to `answered`, holidays out: counted here, not by
    mailbot's calendar."""
    days = (received + timedelta(days=n) for n in range(1, (answered - received).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in HOLIDAYS)


def _services(tmp_path, indemnity: str, office: str):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=indemnity)
    path.write_text(
        path.read_text().replace("response_days = 30\n", f"response_days = 30\n{office}")
    )
    return make_services(path)


@pytest.fixture
def water(tmp_path):
    services = _services(
        tmp_path,
        # The replies' content is test_reply_checks's: here any reply is the reasoned reply.
        '[charter.indemnity]\nprofile = "arera_water"\n[charter.reply_checks]\nmode = "off"\n',
        "working_days = true\n",
    )
    yield services
    services.engine.dispose()


def _refunds(services, number: str) -> list[Refund]:
    with Session(services.engine) as session:
        wo = session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        query = select(Refund).where(Refund.work_order_id == wo.id).order_by(Refund.id)  # type: ignore[arg-type]
        return list(session.exec(query))


def _file(services, received: list[date]) -> list[str]:
    """One complaint received on each day (10:00 in Rome), the case numbers in that order."""
    process = make_process(services)
    for n, day in enumerate(received, 1):
        process(complaint(n), received_at=datetime(day.year, day.month, day.day, 8, tzinfo=UTC))
    return [wo.number for wo in rows(services, WorkOrder)]


@pytest.mark.today(TODAY)
def test_a_water_complaint_answered_on_working_day_31_61_91_owes_30_60_90(water, now):
    today = now.date()
    received = {
        30: date(2026, 4, 20),  # the last day of the term: on time
        31: date(2026, 4, 17),  # a Friday: the weekend, 1 May and 2 June in between
        60: date(2026, 3, 6),  # twice the term exactly: still the base
        61: date(2026, 3, 5),  # Pasquetta in between
        91: date(2026, 1, 22),
    }
    for taken, day in received.items():
        assert working_days_after(day, today) == taken
    numbers = dict(zip(received, _file(water, list(received.values())), strict=True))
    for number in numbers.values():
        operator_action(water, number, OPERATOR, "#risposta\nEcco la risposta motivata.")

    owed = {taken: [r.amount_eur for r in _refunds(water, n)] for taken, n in numbers.items()}
    assert owed == {30: [], 31: [30.0], 60: [30.0], 61: [60.0], 91: [90.0]}
    [late] = _refunds(water, numbers[91])
    assert (late.reason, late.state) == ("late", "due")
    assert late.pay_by == today + timedelta(days=180)  # on a bill within 180 days


@pytest.mark.today(TODAY)
def test_excluded_causes_and_missing_minimum_data_owe_nothing(water, now):
    day = date(2026, 4, 17)  # answered on working day 31: 30 EUR unless excluded
    force, user, gestore, incomplete = _file(water, [day] * 4)
    reply = "#risposta\nEcco la risposta motivata."

    # Said before the reply: nothing falls due.
    operator_action(water, force, OPERATOR, "#causa forza-maggiore\n" + reply)
    assert _refunds(water, force) == []
    operator_action(water, incomplete, OPERATOR, "#incompleto\n" + reply)
    assert _refunds(water, incomplete) == []

    # Said after: the indemnity still due is refused, with the cause as the reason.
    operator_action(water, user, OPERATOR, reply)
    operator_action(water, user, OPERATOR, "#causa cliente-terzi\n#nota")
    [withdrawn] = _refunds(water, user)
    assert withdrawn.state == "refused"
    assert withdrawn.note == "causa imputabile al cliente o a terzi"

    # The operator's own cause excludes nothing; corrected causes owe it again.
    operator_action(water, gestore, OPERATOR, "#causa gestore\n" + reply)
    assert [(r.amount_eur, r.state) for r in _refunds(water, gestore)] == [(30.0, "due")]
    operator_action(water, incomplete, OPERATOR, "#incompleto no\n#nota")
    assert [(r.amount_eur, r.state) for r in _refunds(water, incomplete)] == [(30.0, "due")]

    with Session(water.engine) as session:
        case = session.exec(select(WorkOrder).where(WorkOrder.number == user)).one()
        assert case.missed_term_cause == "user_or_third_party"
        events = session.exec(select(Event).where(Event.work_order_id == case.id)).all()
    assert "work_order.missed_term_cause" in {e.kind for e in events}

    # A word that is no cause is refused, naming the ones there are.
    with pytest.raises(InputError, match="'boh' is not a cause"):
        operator_action(water, gestore, OPERATOR, "#causa boh\n#nota")


@pytest.mark.today(TODAY)
def test_the_cli_records_the_cause_shows_it_and_pays_on_a_bill_or_refuses(water, now):
    first, second = _file(water, [date(2026, 1, 22), date(2026, 4, 17)])
    for number in (first, second):
        operator_action(water, number, OPERATOR, "#risposta\nEcco la risposta motivata.")
    cfg = str(water.settings.source_path)

    said = run_cli("--config", cfg, "workorders", "cause", first, "gestore", "--operator", OPERATOR)
    assert said.returncode == 0, said.stderr
    wrong = run_cli("--config", cfg, "workorders", "cause", first, "boh", "--operator", OPERATOR)
    assert wrong.returncode == 2 and "'boh' is not a cause" in wrong.stderr
    shown = run_cli("--config", cfg, "workorders", "show", first)
    assert "Missed-term cause: operator" in shown.stdout and "90.00 EUR" in shown.stdout

    listed = json.loads(run_cli("--config", cfg, "refunds", "list", "--json").stdout)
    assert [(r["number"], r["owed_eur"], r["missed_term_cause"]) for r in listed] == [
        (first, 90.0, "operator"),
        (second, 30.0, None),
    ]
    # Credited on a bill: its reference is required; never more past the 180 days.
    with Session(water.engine) as session:
        refund = session.get(Refund, listed[0]["id"])
        assert refund is not None
        refund.pay_by = now.date() - timedelta(days=1)
        session.add(refund)
        session.commit()
    bare = run_cli("--config", cfg, "refunds", "pay", str(listed[0]["id"]), "--operator", OPERATOR)
    assert bare.returncode == 2 and "bill's reference" in bare.stderr
    paid = run_cli(
        "--config", cfg, "refunds", "pay", str(listed[0]["id"]), "--operator", OPERATOR,
        "--reference", "bolletta n. 2026/0815",
    )  # fmt: skip
    assert paid.returncode == 0 and "90.00 EUR" in paid.stdout, paid.stderr
    refused = run_cli(
        "--config", cfg, "refunds", "refuse", str(listed[1]["id"]), "--operator", OPERATOR,
        "--reason", "reclamo presentato da un non intestatario",
    )  # fmt: skip
    assert refused.returncode == 0, refused.stderr
    [bill] = _refunds(water, first)
    assert (bill.state, bill.paid_eur, bill.note) == ("paid", 90.0, "bolletta n. 2026/0815")
    [no] = _refunds(water, second)
    assert (no.state, no.note) == ("refused", "reclamo presentato da un non intestatario")

    register = run_cli("--config", cfg, "report", "register", "--year", "2026")
    lines = {
        r["Pratica"]: r
        for r in csv.DictReader(io.StringIO(register.stdout.lstrip("\ufeff")), delimiter=";")
    }
    assert lines[first]["Causa del mancato rispetto"] == "causa imputabile al gestore"
    assert lines[first]["Rimborso pagato (EUR)"] == "90,00"
    assert lines[second]["Causa del mancato rispetto"] == ""


@pytest.mark.today(TODAY)
def test_the_default_profile_is_todays_refunds(tmp_path, now):
    """No [charter.indemnity]: the term's refund_eur however late, [charter]'s 20 days and
    factor 2, and no cause excludes it."""
    services = _services(tmp_path, "", "refund_eur = 25\n")
    try:
        assert services.settings.charter.indemnity == config.IndemnitySettings()
        late, later = _file(services, [date(2026, 4, 20), date(2026, 1, 2)])  # 44, 152 days
        operator_action(services, late, OPERATOR, "#risposta\nRisposta.")
        operator_action(services, later, OPERATOR, "#causa forza-maggiore\n#risposta\nRisposta.")
        for number in (late, later):
            [refund] = _refunds(services, number)
            assert (refund.amount_eur, refund.state) == (25.0, "due")
            assert refund.pay_by == now.date() + timedelta(days=20)
    finally:
        services.engine.dispose()


def test_indemnity_settings_override_the_profile_and_name_their_key(tmp_path):
    def load(table: str) -> config.IndemnitySettings:
        path = write_config(tmp_path / "c.toml", extra=f"[charter.indemnity]\n{table}")
        return config.load(path).charter.indemnity

    water = load('profile = "arera_water"\nbase_eur = 25\nexcluded_causes = ["force_majeure"]')
    assert (water.base_eur, water.steps, water.pay_days) == (25.0, (2, 3), 180)
    assert water.excluded_causes == ("force_majeure",) and water.minimum_data_exclusion
    assert water.amount(0.0, 30, 91) == 75.0 and water.amount(0.0, 30, 90) == 50.0
    charter = load("steps = [3]\nlate_factor = 1")
    assert charter.amount(10.0, 10, 31) == 30.0 and charter.late_factor == 1.0
    for table, key in [
        ('profile = "arera_gas"', "charter.indemnity.profile"),
        ("steps = [1]", "charter.indemnity.steps"),
        ('excluded_causes = ["weather"]', "charter.indemnity.excluded_causes"),
        ("pay_days = 0", "charter.indemnity.pay_days"),
        ("bill_reference = true", "bill_reference"),
    ]:
        with pytest.raises(ConfigError, match=key):
            load(table)


def test_the_example_arera_water_block_switched_on_is_valid(tmp_path):
    from pathlib import Path

    text = (Path(__file__).parents[2] / "config.example.toml").read_text()
    block = text[text.index("# BEGIN arera water indemnity") : text.index("# END arera water")]
    switched_on = "\n".join(line.removeprefix("# ") for line in block.splitlines()[1:])
    path = write_config(tmp_path / "c.toml")
    path.write_text(path.read_text() + switched_on)
    rules = config.load(path).charter.indemnity
    assert rules.profile == "arera_water" and rules.base_eur == 30.0


def test_the_back_office_records_the_cause_and_the_missing_data(tmp_path) -> None:
    from support.backoffice import csrf, office_client, sign_in
    from support.case_office import OPERATOR as TRIBUTI
    from support.case_office import case, make_office_services, populate, slug

    services = make_office_services(tmp_path)
    try:
        populate(services)
        client = office_client(services)
        sign_in(client, services, TRIBUTI)
        page = client.get(f"/pratiche/{slug(1)}")
        assert "Causa del mancato rispetto del termine" in page.text

        def post(data: dict[str, str]):
            form = {"csrf_token": csrf(page.text), **data}
            return client.post(f"/pratiche/{slug(1)}/esito", data=form)

        assert post({"causa": "forza-maggiore", "incompleto": "si"}).status_code == 303
        assert (case(services, 1).missed_term_cause, case(services, 1).minimum_data_missing) == (
            "force_majeure",
            True,
        )
        assert post({"incompleto": "no"}).status_code == 303
        assert not case(services, 1).minimum_data_missing
        forged = post({"causa": "boh"})
        assert forged.status_code == 400 and "non è una causa" in forged.text
    finally:
        services.engine.dispose()
