"""The forwarding clocks of a regulated profile (issue 33, item 1): a hand-over to another
office of the same operator within 7 working days of receipt; a forward to another operator
within 5, and its answer relayed to the citizen within 5; shown by `workorders show` (text and
JSON); none under the municipal profile. Working days are counted here by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest

from mailbot.cases import forwarding
from mailbot.cases.operator import operator_action
from mailbot.models import WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, sent, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"
CONTRACTOR = "tariffe@gestore-tariffe.example.org"
HOLIDAYS = {date(2026, 4, 6), date(2026, 5, 1), date(2026, 6, 2)}
FRIDAY = date(2026, 4, 17)
SECOND_OFFICE = """
[[offices]]
id = "tributi"
name = "Ufficio Tributi"
email = "tributi@comune.example.it"
operators = ["mario.rossi@comune.example.it"]
"""


def working_days(start: date, end: date) -> int:
    days = (start + timedelta(days=n) for n in range(1, (end - start).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in HOLIDAYS)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)


def _services(tmp_path, profile: str, scheme: str = ""):
    (tmp_path / "maildir").mkdir()
    extra = f'[charter.requests]\nprofile = "{profile}"\n' if profile else ""
    extra += f'scheme = "{scheme}"\n' if scheme else ""
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    path.write_text(path.read_text() + SECOND_OFFICE)
    return make_services(path)


def _show(services, number: str) -> tuple[dict, str]:
    config = str(services.settings.source_path)
    shown = run_cli("--config", config, "workorders", "show", number, "--json")
    assert shown.returncode == 0, shown.stderr
    text = run_cli("--config", config, "workorders", "show", number)
    assert text.returncode == 0, text.stderr
    return json.loads(shown.stdout), text.stdout


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_a_hand_over_within_the_operator_has_7_working_days(tmp_path):
    services = _services(tmp_path, "arera_water")
    make_process(services)(complaint(1), at(FRIDAY))
    [case] = rows(services, WorkOrder)
    on_time, late = date(2026, 4, 28), date(2026, 4, 29)  # 25 April is a Saturday
    assert (working_days(FRIDAY, on_time), working_days(FRIDAY, late)) == (7, 8)
    with today_is(at(on_time)):
        operator_action(services, case.number, OPERATOR, "#assegna tributi\n#nota")
    with today_is(at(late)):
        operator_action(services, case.number, OPERATOR, "#assegna urp\n#nota")
        detail, text = _show(services, case.number)
    legs = detail["forwarding"]
    assert [(x["what"], x["to"], x["on"], x["working_days"], x["late"]) for x in legs] == [
        ("within", "tributi", "2026-04-28", 7, False),
        ("within", "urp", "2026-04-29", 8, True),
    ]
    assert "Forwarded to office tributi on 2026-04-28: working day 7 of 7\n" in text
    assert "Forwarded to office urp on 2026-04-29: working day 8 of 7 LATE" in text
    services.engine.dispose()


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_a_forward_between_operators_has_5_days_and_its_relay_5_more(tmp_path):
    services = _services(tmp_path, "arera_waste", scheme="II")
    make_process(services)(complaint(1), at(FRIDAY))
    [case] = rows(services, WorkOrder)
    forwarded, answered, relayed = date(2026, 4, 24), date(2026, 4, 30), date(2026, 5, 8)
    assert working_days(FRIDAY, forwarded) == 5
    assert working_days(answered, relayed) == 5  # 1 May in between
    with today_is(at(forwarded)):
        forwarding.forward(services, case.number, OPERATOR, CONTRACTOR, "Di vostra competenza.")
    answer = EmailMessage()
    answer["From"] = f"Gestore tariffe <{CONTRACTOR}>"
    answer["To"] = "suggerimenti@comune.example.it"
    answer["Subject"] = "Re: inoltro"
    answer["Message-ID"] = "<risposta-tariffe@example.org>"
    answer["In-Reply-To"] = sent(services, "forward_external")[-1].message_id
    answer.set_content("La tariffa è corretta.")
    with today_is(at(answered)):
        make_process(services)(answer.as_bytes(), at(answered))
        detail, _ = _show(services, case.number)
    [leg] = detail["forwarding"]
    assert (leg["what"], leg["to"], leg["working_days"], leg["late"]) == (
        "between",
        CONTRACTOR,
        5,
        False,
    )
    assert leg["relay"] == {
        "answered_on": "2026-04-30", "relayed_on": None, "working_days": 0, "limit": 5, "late": False,
    }  # fmt: skip
    with today_is(at(relayed + timedelta(days=3))):  # not relayed by Monday 11: late so far
        assert _show(services, case.number)[0]["forwarding"][0]["relay"]["late"] is True
    with today_is(at(relayed)):
        operator_action(
            # A waste complaint's reply is checked (reply checks): this short one is sent anyway.
            services,
            case.number,
            OPERATOR,
            "#invia\n#risposta\nLa tariffa applicata è corretta.",
        )
        detail, text = _show(services, case.number)
    relay = detail["forwarding"][0]["relay"]
    assert (relay["relayed_on"], relay["working_days"], relay["late"]) == ("2026-05-08", 5, False)
    assert f"Forwarded to operator {CONTRACTOR} on 2026-04-24: working day 5 of 5" in text
    assert "answered 2026-04-30, relayed 2026-05-08: working day 5 of 5" in text
    services.engine.dispose()


@pytest.mark.today("2026-04-28T09:00:00+00:00")
def test_the_municipal_profile_shows_no_clock(tmp_path):
    services = _services(tmp_path, "")
    make_process(services)(complaint(1), at(FRIDAY))
    [case] = rows(services, WorkOrder)
    operator_action(services, case.number, OPERATOR, "#assegna tributi\n#nota")
    detail, text = _show(services, case.number)
    assert detail["forwarding"] == [] and "Forwarded to" not in text
    services.engine.dispose()
