"""Reminders within the term are not new requests (issue 33, item 1): under a regulated profile
a mail from a case's contact with no thread reference joins its open case when its subject is
the case's (after Re:/R:/Sollecito:) or it names the case's number; the term runs on from the
first receipt. A reply with references joins its case under any profile (as it always did);
strangers, one-word subjects, closed cases, forged senders and the municipal profile open new
cases. A subject that is only a reminder word ("Sollecito") joins the contact's one open case,
and opens a new one when the contact has two."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from mailbot.cases.unthreaded import core_subject, reminder_only
from mailbot.models import Event, InboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from support.app import make_process, make_services, rows, sent, write_config

FIRST = datetime(2026, 4, 17, 8, tzinfo=UTC)  # a Friday
LATER = datetime(2026, 5, 4, 8, tzinfo=UTC)  # a Monday, after 25 April and 1 May
SUBJECT = "Bolletta errata di marzo"
_ids = itertools.count(1)


def mail(subject: str, text: str = "Nessuna risposta finora.", sender: str = "anna@example.net",
         headers: str = "") -> bytes:  # fmt: skip
    return (
        f"{headers}From: Anna Verdi <{sender}>\r\nTo: suggerimenti@comune.example.it\r\n"
        f"Subject: {subject}\r\nMessage-ID: <m{next(_ids)}@example.net>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


def _services(tmp_path, profile: str):
    (tmp_path / "maildir").mkdir()
    extra = '[matching]\ntrusted_authserv_ids = ["mx.comune.example.it"]\n'
    if profile:
        extra += f'[charter.requests]\nprofile = "{profile}"\n'
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    path.write_text(path.read_text().replace("response_days = 30\n", ""))
    return make_services(path)


@pytest.fixture
def water(tmp_path):
    services = _services(tmp_path, "arera_water")
    yield services
    services.engine.dispose()


def _events(services, kind: str) -> list[Event]:
    with Session(services.engine) as session:
        return list(session.exec(select(Event).where(Event.kind == kind)))


@pytest.mark.today("2026-05-04T09:00:00+00:00")
@pytest.mark.parametrize(
    "subject", [f"Sollecito: {SUBJECT}", f"R: {SUBJECT}", f"Re: sollecito - {SUBJECT.upper()}"]
)
def test_a_reminder_without_references_joins_its_open_case(water, subject):
    process = make_process(water)
    process(mail(SUBJECT, "Importo doppio rispetto al solito."), FIRST)
    [case] = rows(water, WorkOrder)
    outcome = process(mail(subject), LATER)

    [joined] = rows(water, WorkOrder)  # no new request
    assert outcome.status == LedgerStatus.THREADED
    assert rows(water, InboundMessage)[-1].kind == "citizen_followup"
    assert joined.due_at == case.due_at and joined.received_at == case.received_at
    [reminder] = _events(water, "work_order.reminder")
    assert reminder.work_order_id == case.id
    assert len(sent(water, "forward")) == 1  # the office sees it on the case
    assert len(sent(water, "confirmation")) == 1  # and the citizen no second number


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_a_mail_naming_the_case_number_joins_it(water):
    process = make_process(water)
    process(mail(SUBJECT), FIRST)
    [case] = rows(water, WorkOrder)
    process(
        mail("Ancora nessuna risposta", f"Scrivo per la pratica {case.number}, attendo."), LATER
    )
    assert len(rows(water, WorkOrder)) == 1
    assert len(_events(water, "work_order.reminder")) == 1


@pytest.mark.today("2026-05-04T09:00:00+00:00")
@pytest.mark.parametrize(
    ("second", "why"),
    [
        (mail(f"Sollecito: {SUBJECT}", sender="altro@example.net"), "another sender"),
        (mail("Sollecito: Reclamo"), "a one-word subject"),
        (mail("Perdita in via Roma"), "another subject"),
        (
            mail(
                f"Sollecito: {SUBJECT}",
                headers="Authentication-Results: mx.comune.example.it; dmarc=fail (p=none) "
                "header.from=example.net\r\n",
            ),
            "a forged sender",
        ),
    ],
)
def test_other_mail_is_a_new_request(water, second, why):
    process = make_process(water)
    process(mail("Reclamo") if "one-word" in why else mail(SUBJECT), FIRST)
    process(second, LATER)
    assert len(rows(water, WorkOrder)) == 2, why
    assert _events(water, "work_order.reminder") == []


@pytest.mark.today("2026-05-04T09:00:00+00:00")
@pytest.mark.parametrize(
    "subject", ["Sollecito", "Secondo sollecito", "R: SOLLECITO", "Sollecito:"]
)
def test_a_bare_reminder_joins_the_contacts_only_open_case(water, subject):
    process = make_process(water)
    process(mail(SUBJECT), FIRST)
    [case] = rows(water, WorkOrder)
    text = "Sto ancora aspettando la nota di credito."
    assert process(mail(subject, text), LATER).status == LedgerStatus.THREADED
    [joined] = rows(water, WorkOrder)
    assert joined.due_at == case.due_at
    [reminder] = _events(water, "work_order.reminder")
    assert reminder.work_order_id == case.id
    assert len(sent(water, "confirmation")) == 1  # no second number


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_a_bare_reminder_from_a_contact_with_two_open_cases_is_a_new_request(water):
    process = make_process(water)
    process(mail(SUBJECT), FIRST)
    process(mail("Perdita in via Roma"), FIRST)
    process(mail("Sollecito"), LATER)
    assert len(rows(water, WorkOrder)) == 3  # which of the two? It cannot tell
    assert _events(water, "work_order.reminder") == []


def test_only_a_subject_of_reminder_words_is_a_bare_reminder():
    for subject in ("Sollecito", "secondo sollecito!", "Re: Sollecito", "Sollecito -", "Reminder"):
        assert reminder_only(subject), subject
    for subject in ("", "Re:", "Sollecito: Reclamo", "Sollecito reclamo", SUBJECT, "Reclamo"):
        assert not reminder_only(subject), subject


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_a_closed_case_is_not_joined_by_its_subject(water):
    process = make_process(water)
    process(mail(SUBJECT), FIRST)
    [case] = rows(water, WorkOrder)
    with Session(water.engine) as session:
        stored = session.get(WorkOrder, case.id)
        assert stored is not None
        stored.status, stored.closed_at = "closed", FIRST
        session.commit()
    process(mail(f"Sollecito: {SUBJECT}"), LATER)
    assert len(rows(water, WorkOrder)) == 2


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_the_municipal_profile_keeps_opening_a_new_case(tmp_path):
    services = _services(tmp_path, "")
    process = make_process(services)
    process(mail(SUBJECT), FIRST)
    process(mail(f"Sollecito: {SUBJECT}"), LATER)
    assert len(rows(services, WorkOrder)) == 2
    services.engine.dispose()


@pytest.mark.today("2026-05-04T09:00:00+00:00")
@pytest.mark.parametrize("profile", ["", "arera_water"])
def test_a_reply_with_references_joins_under_any_profile_and_is_no_reminder(tmp_path, profile):
    """What threading did before: In-Reply-To our confirmation joins the case."""
    services = _services(tmp_path, profile)
    process = make_process(services)
    process(mail(SUBJECT), FIRST)
    [confirmation] = sent(services, "confirmation")
    reply = mail("Re: altro oggetto", headers=f"In-Reply-To: {confirmation.message_id}\r\n")
    assert process(reply, LATER).status == LedgerStatus.THREADED
    assert len(rows(services, WorkOrder)) == 1
    assert _events(services, "work_order.reminder") == []
    services.engine.dispose()


def test_core_subject_drops_prefixes_and_our_tag():
    assert core_subject("R: Sollecito: [Pratica 2026/000001] Bolletta  Errata") == "bolletta errata"
    assert core_subject("Secondo sollecito - Bolletta errata") == "bolletta errata"
    assert core_subject("Rettifica bolletta") == "rettifica bolletta"  # "R" only as a prefix
