"""The missed-term cause is asked of the office (issue 33, item 3): a case whose term passed
without a reasoned reply, or with a late one, and no cause recorded is listed once in the
office's daily digest with how to answer (#causa …); the office's answer by mail records it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailbot.cases.missed_terms import ASKED
from mailbot.cases.operator import operator_action
from mailbot.cases.reminders import send_digests
from mailbot.models import Event, OutboundMessage, WorkOrder
from unit.test_conversations import OPERATOR, reply
from unit.test_reminders import text

from support.app import complaint, make_process, make_services, rows, sent, write_config


@pytest.fixture
def services(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = '[charter]\ndigest_time = "08:00"\nreminder_days = 3\n'
    svc = make_services(write_config(tmp_path / "mailbot.toml", extra=extra))
    yield svc
    svc.engine.dispose()


def section(body: str) -> str:
    """The digest's "CAUSA DEL TERMINE MANCATO" section, "" when there is none."""
    start = body.find("CAUSA DEL TERMINE MANCATO")
    return "" if start < 0 else body[start : body.find("Per rispondere a una pratica", start)]


def notification_of(services, number: str) -> OutboundMessage:
    by_id = {wo.id: wo.number for wo in rows(services, WorkOrder)}
    return next(o for o in sent(services, "notification") if by_id.get(o.work_order_id) == number)


@pytest.mark.today("2026-03-11T06:00:00+00:00")  # a Wednesday, 07:00 in Rome
def test_late_cases_without_a_cause_are_asked_once_in_the_digest(services, now):
    tz = services.settings.timezone
    morning = now.astimezone(tz).replace(hour=8, minute=1, second=0, microsecond=0)
    process = make_process(services)
    for n, age in ((1, 40), (2, 40), (3, 40), (4, 5), (5, 40)):
        process(complaint(n), received_at=morning - timedelta(days=age))
    unanswered, answered_late, with_cause, in_term, suspended = (
        wo.number for wo in rows(services, WorkOrder)
    )
    operator_action(services, answered_late, OPERATOR, "Ecco la risposta, in ritardo.")
    operator_action(services, with_cause, OPERATOR, "#causa gestore\n#nota")
    operator_action(services, suspended, OPERATOR, "#sospendi Ci manda il codice cliente?")

    assert send_digests(services, morning) == 1
    [digest] = sent(services, "digest")
    asked = section(text(digest))
    assert unanswered in asked and answered_late in asked
    assert with_cause not in asked and in_term not in asked and suspended not in asked
    assert "#causa forza-maggiore" in asked and "#causa gestore" in asked
    assert "ancora senza risposta motivata" in asked and "risposta data il" in asked
    assert len([e for e in rows(services, Event) if e.kind == ASKED]) == 2

    # The next day the overdue case is listed again, but its cause is not asked again.
    send_digests(services, morning + timedelta(days=1))
    second = text(sent(services, "digest")[-1])
    assert unanswered in second and section(second) == ""

    # The office answers the case's notification by mail: the cause is recorded.
    process(reply(notification_of(services, unanswered), OPERATOR, "#causa forza-maggiore"))
    case = next(wo for wo in rows(services, WorkOrder) if wo.number == unanswered)
    assert case.missed_term_cause == "force_majeure"


@pytest.mark.today("2026-03-11T06:00:00+00:00")
def test_a_late_case_alone_is_enough_for_a_digest(services, now):
    """A case answered late the day its term passed is in no other list: asked all the same."""
    morning = now.astimezone(services.settings.timezone).replace(hour=8, minute=1)
    make_process(services)(complaint(1), received_at=morning - timedelta(days=40))
    [late] = [wo.number for wo in rows(services, WorkOrder)]
    operator_action(services, late, OPERATOR, "Ecco la risposta.")
    assert send_digests(services, morning) == 1
    assert late in section(text(sent(services, "digest")[0]))
    assert sent(services, "escalation") == []
