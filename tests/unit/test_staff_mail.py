"""Mail from the institution's side on a case's thread is never the citizen's (issue 29): a
Dirigente's answer is the office's reply; the URP answering its copy, a colleague answering a
notification forwarded to him, a former desk and someone outside the directory answering mail
only the institution received write internal notes: no follow-up, no new case, the charter
clock untouched, the citizen told nothing, the writer told it was not relayed."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from mailbot.cases import views, workorders
from mailbot.models import ConversationMessage, Event, InboundMessage, OutboundMessage, WorkOrder
from mailbot.types import Kind, LedgerStatus

from support.app import make_process, make_services, rows, sent, write_config

CITIZEN = "mario.bianchi@example.net"
OPERATOR = "mario.rossi@comune.example.it"
DIRIGENTE = "dirigente.urp@comune.example.it"
URP_ARCHIVE = "archivio.urp@comune.example.it"
COLLEAGUE = "luca.verdi@comune.example.it"  # an operator of another office
DESK = "sportello.centro@comune.example.it"  # a desk that took the case and handed it over
SUPERVISOR = "coordinamento@comune.example.it"

STAFF = f"""
[[desks]]
id = "centro"
name = "Sportello del centro"
email = "centro@comune.example.it"
[[staff]]
email = "{DESK}"
name = "Anna Sportello"
roles = ["desk"]
desks = ["centro"]
[[staff]]
email = "{SUPERVISOR}"
name = "Carla Coordinamento"
roles = ["supervisor"]
[[offices]]
id = "lavori"
name = "Lavori pubblici"
email = "lavori@comune.example.it"
operators = ["{COLLEAGUE}"]
"""


@pytest.fixture
def services(tmp_path: Path):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", extra=STAFF)
    text = config.read_text().replace(
        'operators = ["mario.rossi@comune.example.it"]',
        f'operators = ["{OPERATOR}"]\nmanager = "{DIRIGENTE}"\ncopy_to = "{URP_ARCHIVE}"',
    )
    config.write_text(text)
    svc = make_services(config)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def process(services):
    return make_process(services)


def reply(to: OutboundMessage, sender: str, body: str, n: int, name: str = "") -> bytes:
    original = email.message_from_bytes(to.raw, policy=default)
    msg = email.message.EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"R: {original['Subject'].strip()}"
    msg["In-Reply-To"] = to.message_id
    msg["References"] = to.message_id
    msg["Message-ID"] = f"<staff-{n}@comune.example.it>"
    msg.set_content(body)
    return msg.as_bytes()


def case(services) -> WorkOrder:
    with Session(services.engine) as session:
        return workorders.by_number(session, "2026/000001")


def kinds(services) -> list[str]:
    with Session(services.engine) as session:
        detail = views.show_work_order(session, "2026/000001", services.settings.timezone)
    return [m["kind"] for m in detail["messages"]]


def to_citizen(services) -> list[OutboundMessage]:
    return [o for o in rows(services, OutboundMessage) if CITIZEN in o.recipients]


@pytest.fixture
def opened(services, process):
    assert process("citizen_plain.eml").status == LedgerStatus.FILED
    return sent(services, "notification")[-1]


def test_a_dirigente_answering_the_notification_is_the_office_reply(services, process, opened):
    outcome = process(reply(opened, DIRIGENTE, "La buca sarà chiusa domani.", 1, "Dott. Neri"))
    assert outcome.status == LedgerStatus.THREADED
    relay = sent(services, "relay")[-1]
    assert relay.recipients.startswith(CITIZEN)
    assert URP_ARCHIVE in relay.recipients  # the URP's copy of the reply
    assert case(services).reasoned_reply_at is not None


def test_the_urp_answering_its_copy_writes_a_note_and_the_citizen_gets_nothing(
    services, process, opened
):
    process(reply(opened, OPERATOR, "#interlocutoria\nStiamo verificando.", 1))
    copy = sent(services, "relay")[-1]  # the URP archive had it in Cc
    before = len(to_citizen(services))
    outcome = process(reply(copy, URP_ARCHIVE, "Ricordate di allegare le foto.", 2))
    assert outcome.status == LedgerStatus.THREADED
    with Session(services.engine) as session:
        entry = session.get(InboundMessage, outcome.inbound_id)
        assert entry is not None and entry.kind == Kind.STAFF_MAIL
    assert len(to_citizen(services)) == before  # nothing to the citizen
    assert kinds(services)[-3:] == ["note", "internal_note", "notice"]
    note = sent(services, "internal_note")[-1]
    assert note.recipients == "urp@comune.example.it"
    assert "Ricordate di allegare le foto." in note.raw.decode()
    told = email.message_from_bytes(sent(services, "notice")[-1].raw, policy=default)
    assert told["To"].addresses[0].addr_spec == URP_ARCHIVE
    assert "NON è stato inviato al cittadino" in told.get_body(("plain",)).get_content()


@pytest.mark.today("2026-12-04T09:00:00+00:00")
def test_a_colleague_answering_a_forwarded_notification_leaves_the_clock_alone(services, process):
    received = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert process("citizen_plain.eml", received_at=received).status == LedgerStatus.FILED
    notification = sent(services, "notification")[-1]
    process(reply(notification, OPERATOR, "#sospendi Ci serve il numero civico.", 1), received)
    suspended = case(services)
    assert suspended.status == workorders.SUSPENDED
    # The notification forwarded to a colleague of another office, who answers it.
    outcome = process(reply(notification, COLLEAGUE, "Il civico è il 12, l'ho visto io.", 2))
    assert outcome.status == LedgerStatus.THREADED
    after = case(services)
    assert after.status == workorders.SUSPENDED  # not resumed, not restarted
    assert after.due_at == suspended.due_at and after.pauses == suspended.pauses
    with Session(services.engine) as session:
        resumed = session.exec(select(Event).where(Event.kind == "work_order.resumed")).first()
    assert resumed is None
    assert "citizen_followup" not in kinds(services) and kinds(services)[-1] == "notice"


def test_a_former_desk_writing_on_the_case_is_a_note_never_a_new_case(services, process, opened):
    confirmation = sent(services, "confirmation")[-1]
    outcome = process(reply(confirmation, DESK, "Il cittadino ha chiamato di nuovo.", 1))
    assert outcome.status == LedgerStatus.THREADED
    assert len(rows(services, WorkOrder)) == 1
    assert "citizen_followup" not in kinds(services)
    note = sent(services, "internal_note")[-1]
    body = note.raw.decode()
    assert "Anna Sportello" in body and "Il cittadino ha chiamato di nuovo." in body


def test_someone_outside_the_directory_answering_office_mail_is_not_the_citizen(
    services, process, opened
):
    outcome = process(reply(opened, "geometra@studio-esterno.example", "Sopralluogo fatto.", 1))
    assert outcome.status == LedgerStatus.THREADED
    assert "citizen_followup" not in kinds(services)
    assert len(to_citizen(services)) == 1  # the confirmation only


def test_a_supervisor_assigns_by_mail_and_what_their_role_may_not_do_is_listed(
    services, process, opened
):
    body = "#assegna lavori\n#chiudi\nCompetenza dei lavori pubblici."
    process(reply(opened, SUPERVISOR, body, 1))
    handed = case(services)
    assert handed.office == "lavori" and handed.status == workorders.OPEN  # not closed
    told = email.message_from_bytes(sent(services, "notice")[-1].raw, policy=default)
    text = told.get_body(("plain",)).get_content()
    assert "#assegna lavori" in text and "#chiudi: non consentito" in text
    assert "closing" not in kinds(services)


def test_commands_on_an_unsigned_thread_are_not_carried_out(services, process, opened):
    msg = email.message.EmailMessage()
    msg["From"] = SUPERVISOR
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "[Pratica 2026/000001] da girare"
    msg["Message-ID"] = "<nuovo-1@comune.example.it>"
    msg.set_content("#assegna lavori\nVa ai lavori pubblici.")
    outcome = process(msg.as_bytes())
    assert outcome.status == LedgerStatus.THREADED
    assert case(services).office == "urp"
    assert len(rows(services, WorkOrder)) == 1


def test_an_explicit_note_is_passed_on_without_telling_the_writer(services, process, opened):
    process(reply(opened, SUPERVISOR, "#nota\nSeguo io il sollecito.", 1))
    assert sent(services, "notice") == []
    assert len(sent(services, "internal_note")) == 1


def test_staff_writing_about_their_own_case_is_its_citizen(services, process):
    msg = email.message.EmailMessage()
    msg["From"] = f"Luca Verdi <{COLLEAGUE}>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Lampione spento sotto casa"
    msg["Message-ID"] = "<dipendente-1@comune.example.it>"
    msg.set_content("Il lampione di via Roma 3 è spento da una settimana.")
    assert process(msg.as_bytes()).status == LedgerStatus.FILED
    confirmation = sent(services, "confirmation")[-1]
    outcome = process(reply(confirmation, COLLEAGUE, "È ancora spento.", 9))
    with Session(services.engine) as session:
        entry = session.get(InboundMessage, outcome.inbound_id)
        assert entry is not None and entry.kind == Kind.CITIZEN_FOLLOWUP
        followups = session.exec(
            select(ConversationMessage).where(col(ConversationMessage.kind) == "citizen_followup")
        ).all()
    assert len(followups) == 1


def test_the_command_line_lets_a_supervisor_note_and_assign_but_not_answer(services, opened):
    from mailbot.cases.operator import operator_action
    from mailbot.errors import InputError

    said = operator_action(services, "2026/000001", SUPERVISOR, "#nota\nSeguo io il sollecito.")
    assert "not relayed" in said
    with pytest.raises(InputError, match="may write #nota"):
        operator_action(services, "2026/000001", SUPERVISOR, "Gentile cittadino, ecco.")
    with pytest.raises(InputError, match="not #chiudi"):
        operator_action(services, "2026/000001", SUPERVISOR, "#chiudi")
    with pytest.raises(InputError, match="is not an operator"):
        operator_action(services, "2026/000001", "x@example.org", "#nota\nio")
    operator_action(services, "2026/000001", SUPERVISOR, "#assegna lavori")
    assert case(services).office == "lavori"
    assert to_citizen(services)[-1].kind == "confirmation"  # the citizen was told nothing
