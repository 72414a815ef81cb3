"""The service-charter clock (issue 7, parts 1 and 2): deadlines across weekends, national and
local holidays, suspensions and extensions; categories and their terms; #categoria, #proroga,
#protocollo from an operator; a late reasoned reply owes the refund."""

from __future__ import annotations

from datetime import date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from zoneinfo import ZoneInfo

import pytest

from mailbot import charter
from mailbot.cases.operator import operator_action
from mailbot.charter import Clock
from mailbot.models import Event, OutboundMessage, WorkOrder

from support.app import citizen_reply, make_process, make_services, rows, write_config

ROME = ZoneInfo("Europe/Rome")
CAL = charter.Calendar(("06-24", "2026-11-02"))


def due(received, days, working=False, pauses=(), today=None):
    return charter.due_day(
        received, days, working=working, calendar=CAL, pauses=pauses, today=today
    )


def test_calendar_days_count_from_the_day_after_receipt():
    assert due(date(2026, 3, 2), 30) == date(2026, 4, 1)  # a Wednesday


def test_a_calendar_term_ending_on_a_weekend_or_holiday_moves_to_the_next_working_day():
    assert due(date(2026, 3, 6), 30) == date(2026, 4, 7)  # Sun 5 Apr Easter, Mon 6 Easter Monday
    assert due(date(2026, 5, 25), 30) == date(2026, 6, 25)  # 24 June: the patron saint
    # Saturday 4 April: offices are closed, the term moves to... Easter Tuesday 7 April
    assert due(date(2026, 3, 7), 28) == date(2026, 4, 7)


def test_saturday_is_one_rule_for_counting_and_for_moving_a_deadline():
    open_saturdays = charter.Calendar(("06-24", "11-02"), saturday_is_working_day=True)
    # A calendar term ending on Saturday 4 April stays there
    assert charter.due_day(date(2026, 3, 7), 28, working=False, calendar=open_saturdays) == date(
        2026, 4, 4
    )
    # Thu 30 Apr, Fri 1 May holiday: Saturday 2 May is the first working day
    assert charter.due_day(date(2026, 4, 30), 1, working=True, calendar=open_saturdays) == date(
        2026, 5, 2
    )
    assert due(date(2026, 4, 30), 1, working=True) == date(2026, 5, 4)  # closed on Saturday


def test_working_days_skip_weekends_national_and_local_holidays():
    # Thu 30 Apr → Fri 1 May is a holiday, then the weekend
    assert due(date(2026, 4, 30), 1, working=True) == date(2026, 5, 4)
    assert due(date(2026, 4, 30), 5, working=True) == date(2026, 5, 8)
    # Fri 30 Oct → Mon 2 Nov local, and national 4 Oct/1 Nov are Sundays
    assert due(date(2026, 10, 30), 1, working=True) == date(2026, 11, 3)
    # 15 working days over Christmas and Epiphany: 23, 24, 28-31 Dec, 4, 5, 7, 8, 11-15 Jan
    assert due(date(2026, 12, 22), 15, working=True) == date(2027, 1, 15)


def test_a_suspension_stops_the_clock_until_the_answer():
    received = date(2026, 3, 2)
    # Suspended on 10 March, answered 20 March: 10 days not counted
    pauses = [(date(2026, 3, 10), date(2026, 3, 20))]
    assert due(received, 30, pauses=pauses) == date(2026, 4, 13)  # Sat 11 April → Monday
    assert due(received, 30, pauses=pauses) == due(received, 40)
    # Still suspended: the deadline keeps moving with each day of waiting
    running = [(date(2026, 3, 10), None)]
    assert due(received, 30, pauses=running, today=date(2026, 3, 15)) == due(received, 35)
    # Working days: only the working days of the pause are given back
    assert due(received, 10, working=True, pauses=[(date(2026, 3, 6), date(2026, 3, 9))]) == due(
        received, 11, working=True
    )


def test_days_taken_leave_out_the_pauses():
    received, answered = date(2026, 3, 2), date(2026, 3, 30)
    assert charter.days_taken(received, answered, working=False, calendar=CAL) == 28
    pauses = [(date(2026, 3, 10), date(2026, 3, 20))]
    assert charter.days_taken(received, answered, working=False, calendar=CAL, pauses=pauses) == 18
    assert charter.days_taken(received, answered, working=True, calendar=CAL) == 20


def test_pauses_round_trip():
    pauses = [(date(2026, 3, 10), date(2026, 3, 20)), (date(2026, 4, 1), None)]
    assert charter.load_pauses(charter.dump_pauses(pauses)) == pauses


@pytest.fixture
def charter_services(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        extra=(
            '[charter]\nlocal_holidays = ["06-24"]\n'
            '[[categories]]\nid = "billing_error"\nname = "Errore di fatturazione"\n'
            'keywords = ["bolletta"]\n'
            '[[categories]]\nid = "other"\nname = "Altro"\n'
        ),
    )
    text = config.read_text().replace(
        "response_days = 30\n",
        'response_days = 30\nrefund_eur = 0\n[[offices.terms]]\ncategory = "billing_error"\n'
        "days = 10\nworking_days = true\nrefund_eur = 20\n",
    )
    config.write_text(text)
    services = make_services(config)
    yield services
    services.engine.dispose()


OPERATOR = "mario.rossi@comune.example.it"


def test_a_keyword_presets_the_category_and_its_term(charter_services):
    process = make_process(charter_services)
    process("citizen_plain.eml", received_at=datetime(2026, 3, 2, 9, 0, tzinfo=ROME))
    [case] = rows(charter_services, WorkOrder)
    assert case.category == "" and case.term_days == 30
    assert case.due_at.astimezone(ROME).date() == date(2026, 4, 1)
    msg = EmailMessage()
    msg["From"] = "Anna <anna@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Bolletta sbagliata"
    msg["Message-ID"] = "<bolletta-1@example.net>"
    msg.set_content("La bolletta di febbraio conteggia il doppio.")
    process(msg.as_bytes(), received_at=datetime(2026, 3, 2, 9, 0, tzinfo=ROME))
    billing = rows(charter_services, WorkOrder)[-1]
    assert (billing.category, billing.term_days, billing.term_working) == (
        "billing_error",
        10,
        True,
    )
    assert billing.due_at.astimezone(ROME).date() == date(2026, 3, 16)  # 10 working days
    # The confirmation states the deadline
    confirmation = [o for o in rows(charter_services, OutboundMessage) if o.kind == "confirmation"][
        -1
    ]
    text = message_from_bytes(confirmation.raw, policy=default).get_body(("plain",)).get_content()
    assert "16/03/2026" in text or "16 marzo 2026" in text


def test_operator_commands_set_category_protocollo_and_extend(charter_services):
    make_process(charter_services)("citizen_plain.eml")
    [case] = rows(charter_services, WorkOrder)
    result = operator_action(
        charter_services,
        case.number,
        OPERATOR,
        "#categoria billing_error\n#protocollo 2026/4711\n#nota",
    )
    assert "not relayed" in result
    [case] = rows(charter_services, WorkOrder)
    assert case.category == "billing_error" and case.protocollo == "2026/4711"
    before = case.due_at
    operator_action(
        charter_services, case.number, OPERATOR, "#proroga 15 servono verifiche sul contatore"
    )
    [case] = rows(charter_services, WorkOrder)
    assert case.extension_days == 15 and case.due_at > before
    [notice] = [o for o in rows(charter_services, OutboundMessage) if o.kind == "extension"]
    body = message_from_bytes(notice.raw, policy=default).get_body(("plain",)).get_content()
    assert "prorogato di 15 giorni" in body and "verifiche sul contatore" in body
    assert notice.recipients == "mario.bianchi@example.net"
    from sqlmodel import Session

    from mailbot.cases import views

    with Session(charter_services.engine) as session:
        shown = views.show_work_order(session, case.number, charter_services.settings.timezone)
    assert shown["charter"] == {
        "category": "billing_error",
        "term_days": 10,
        "working_days": True,
        "extension_days": 15,
        "reasoned_reply_at": None,
        "refund_eur": 0.0,
        "protocollo": ["2026/4711"],
        "protocollo_pending": None,  # [protocol] adapter = "manual": nothing waits
        "missed_term_cause": None,
        "minimum_data_missing": False,
        "satisfaction": None,
        "kind": "reclamo",
        "channel": "email",
        "outcome": None,
        "solution": None,
        "solution_due": None,
    }
    kinds = {e.kind for e in rows(charter_services, Event)}
    assert {"work_order.categorised", "work_order.protocollo", "work_order.extended"} <= kinds


@pytest.mark.parametrize(
    ("text", "error"),
    [
        # the command line speaks English (an operator's email gets the Italian notice)
        ("#categoria inesistente", "no category 'inesistente'"),
        ("#proroga tanti motivo", "#proroga needs the days"),
        ("#proroga 10", "#proroga needs the days"),
    ],
)
def test_bad_charter_commands_are_refused(charter_services, text, error):
    make_process(charter_services)("citizen_plain.eml")
    [case] = rows(charter_services, WorkOrder)
    with pytest.raises(Exception, match=error):
        operator_action(charter_services, case.number, OPERATOR, text)


def _suspend_then_answer(charter_services, monkeypatch):
    process = make_process(charter_services)
    process("citizen_plain.eml", received_at=datetime(2026, 3, 2, 9, 0, tzinfo=ROME))
    [case] = rows(charter_services, WorkOrder)
    today = {"day": date(2026, 3, 10)}
    monkeypatch.setattr(Clock, "today", lambda self: today["day"])
    operator_action(
        charter_services, case.number, OPERATOR, "#sospendi Ci manda il numero del contatore?"
    )
    [case] = rows(charter_services, WorkOrder)
    assert case.status == "suspended"
    # The citizen answers on 20 March, replying to the confirmation
    today["day"] = date(2026, 3, 20)
    [confirmation] = [
        o for o in rows(charter_services, OutboundMessage) if o.kind == "confirmation"
    ]
    msg = EmailMessage()
    msg["From"] = "Mario Bianchi <mario.bianchi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Re: contatore"
    msg["Message-ID"] = "<risposta-contatore@example.net>"
    msg["In-Reply-To"] = confirmation.message_id
    msg.set_content("Il numero è 12345.")
    process(msg.as_bytes(), received_at=datetime(2026, 3, 20, 9, 0, tzinfo=ROME))
    [case] = rows(charter_services, WorkOrder)
    return case


def test_suspension_moves_the_deadline_by_the_days_waited(charter_services, monkeypatch):
    case = _suspend_then_answer(charter_services, monkeypatch)
    assert case.status == "open"
    assert charter.load_pauses(case.pauses) == [(date(2026, 3, 10), date(2026, 3, 20))]
    # 1 April plus the ten days from 11 to 20 March
    assert case.due_at.astimezone(ROME).date() == date(2026, 4, 13)  # Sat 11 → Mon 13


def test_where_the_charter_says_so_the_term_runs_again_from_the_answer(tmp_path, monkeypatch):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml")
    config.write_text(
        config.read_text().replace(
            "response_days = 30\n", 'response_days = 30\non_integration = "restart"\n'
        )
    )
    services = make_services(config)
    case = _suspend_then_answer(services, monkeypatch)
    assert case.status == "open"
    # everything up to the answer (20 March) is paused: 30 days from 21 March
    assert charter.load_pauses(case.pauses) == [(date(2026, 3, 2), date(2026, 3, 20))]
    assert case.due_at.astimezone(ROME).date() == date(2026, 4, 20)
    services.engine.dispose()


@pytest.fixture
def survey_services(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml", extra="[charter]\nsatisfaction_survey = true\n"
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


def test_closing_asks_for_a_rating_and_records_the_answer(survey_services):
    process = make_process(survey_services)
    process("citizen_plain.eml")
    [case] = rows(survey_services, WorkOrder)
    operator_action(survey_services, case.number, OPERATOR, "#chiudi\nAbbiamo chiuso la buca.")
    [closing] = [o for o in rows(survey_services, OutboundMessage) if o.kind == "closing"]
    body = message_from_bytes(closing.raw, policy=default).get_body(("plain",)).get_content()
    assert "è stata chiusa" in body and "da 1" in body and "a 5" in body
    outcome = process(citizen_reply(closing, "4 grazie", 1))
    assert outcome.reason == "satisfaction 4/5"
    [case] = rows(survey_services, WorkOrder)
    assert case.satisfaction == 4 and case.status == "closed"  # not reopened
    assert not [o for o in rows(survey_services, OutboundMessage) if o.kind == "forward"]
    # A real follow-up still reopens the case
    process(
        citizen_reply(closing, "3 lampioni sono ancora spenti in via Po, la buca è ancora lì.", 2)
    )
    [case] = rows(survey_services, WorkOrder)
    assert case.status == "open"


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5", 5),
        ("5/5", 5),
        (" 2 .", 2),
        ("3 grazie mille", 3),
        ("6", None),
        ("voto 4", None),
        ("1 strada ancora chiusa, nessuno è venuto a controllare il guasto di ieri sera", None),
    ],
)
def test_what_counts_as_a_rating(text, rating):
    from mailbot.cases.survey import parse_reply

    answer = parse_reply(text, 1)
    assert (answer.scores[0] if answer else None) == rating


def test_without_the_survey_the_closing_message_asks_nothing(charter_services):
    make_process(charter_services)("citizen_plain.eml")
    [case] = rows(charter_services, WorkOrder)
    operator_action(charter_services, case.number, OPERATOR, "#chiudi")
    [closing] = [o for o in rows(charter_services, OutboundMessage) if o.kind == "closing"]
    body = message_from_bytes(closing.raw, policy=default).get_body(("plain",)).get_content()
    assert "è stata chiusa" in body and "da 1" not in body
