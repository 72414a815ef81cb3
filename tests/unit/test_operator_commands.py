"""What an operator meets (issue 27, items 1, 4 and 5): a plain reply is the reasoned reply
(told once, with `#interlocutoria` to take it back); every command is taught in the
notification and the notices; a case is closed once; staff mail naming a case without a signed
reference opens none; a voided case keeps its number and nothing more is sent for it."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest
from sqlmodel import Session

from mailbot.cases import notices, refunds, voiding, workorders
from mailbot.cases.reminders import send_digests
from mailbot.errors import InputError
from mailbot.models import Event, InboundMessage, OutboundMessage, WorkOrder
from mailbot.replies import commands
from mailbot.types import LedgerStatus
from unit.test_conversations import CITIZEN, OPERATOR, case, kinds, outbound, reply

from support.app import complaint, make_process, make_services, rows, sent, write_config
from support.clock import today_is

OFFICE = "urp@comune.example.it"


@pytest.fixture
def opened(services, process):
    assert process("citizen_plain.eml").status == LedgerStatus.FILED
    return outbound(services, "notification")


def text_of(row: OutboundMessage, part: str = "plain") -> str:
    body = email.message_from_bytes(row.raw, policy=default).get_body((part,)).get_content()
    return str(body).replace("\r\n", "\n")


def subject_of(row: OutboundMessage) -> str:
    return str(email.message_from_bytes(row.raw, policy=default)["Subject"])


def events(services, kind: str) -> list[Event]:
    return [e for e in rows(services, Event) if e.kind == kind]


# --- item 1: a plain reply is the reasoned reply -------------------------------------------


def test_a_plain_reply_is_the_reasoned_reply_and_the_operator_is_told_once(
    services, process, opened
):
    process(reply(opened, OPERATOR, "La buca sarà riparata entro venerdì."))
    assert case(services).reasoned_reply_at is not None
    [notice] = sent(services, "notice")
    assert notice.recipients == OPERATOR
    assert "Registrata come risposta motivata" in subject_of(notice)
    body = text_of(notice)
    assert "RISPOSTA MOTIVATA" in body and "#interlocutoria" in body
    process(reply(opened, OPERATOR, "Aggiungo: l'intervento è alle 9."))
    assert len(sent(services, "notice")) == 1  # first time per case only
    assert len(sent(services, "relay")) == 2


def test_interlocutoria_in_answer_to_the_notice_takes_the_reasoned_reply_back(
    services, process, opened
):
    process(reply(opened, OPERATOR, "Stiamo verificando con il cantiere."))
    [notice] = sent(services, "notice")
    outcome = process(reply(notice, OPERATOR, "#interlocutoria"))
    assert outcome.status == LedgerStatus.THREADED
    assert case(services).reasoned_reply_at is None  # waiting for its answer again
    assert len(sent(services, "relay")) == 1  # nothing more to the citizen
    assert events(services, "work_order.reasoned_reply_withdrawn")
    assert kinds(services)[-1] == "note"
    # The real answer, when it comes, counts (and the operator is not told again).
    process(reply(opened, OPERATOR, "La buca è stata chiusa."))
    assert case(services).reasoned_reply_at is not None
    assert len(sent(services, "notice")) == 1


def test_an_interim_message_is_relayed_and_does_not_count(services, process, opened):
    process(reply(opened, OPERATOR, "#interlocutoria\nStiamo verificando."))
    assert text_of(sent(services, "relay")[0]).startswith("Stiamo verificando.")
    assert case(services).reasoned_reply_at is None
    assert sent(services, "notice") == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("#interlocutoria", "#interlocutoria da sola annulla la risposta motivata registrata"),
        ("#interlocutoria\n#chiudi\nFatto.", "#interlocutoria non può stare con #risposta"),
        ("#interlocutoria\n#risposta\nEcco.", "#interlocutoria non può stare con #risposta"),
    ],
)
def test_an_interim_message_that_cannot_be_is_explained(services, process, opened, text, error):
    process(reply(opened, OPERATOR, text))
    [notice] = sent(services, "notice")
    assert error in text_of(notice) and "Risposta non inviata" in subject_of(notice)
    assert sent(services, "relay") == [] and case(services).status == "open"


def test_taking_back_a_late_reply_withdraws_its_refund(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(
        path.read_text().replace("response_days = 30\n", "response_days = 30\nrefund_eur = 25\n")
    )
    services = make_services(path)
    process = make_process(services)
    with today_is(datetime(2026, 3, 11, 9, tzinfo=UTC)) as now:
        process(complaint(1), received_at=now - timedelta(days=44))  # overdue
        notification = outbound(services, "notification")
        process(reply(notification, OPERATOR, "Ci scusiamo, stiamo verificando."))
        with Session(services.engine) as session:
            assert [r.state for r, _ in refunds.refunds(session)] == ["due"]
        process(reply(outbound(services, "notice"), OPERATOR, "#interlocutoria"))
        with Session(services.engine) as session:
            assert [r.state for r, _ in refunds.refunds(session)] == ["refused"]
        assert case(services).reasoned_reply_at is None


def test_every_command_is_taught_in_the_notification_and_the_notices(services, process, opened):
    process(reply(opened, OPERATOR, "#archivia\nChiudiamo."))
    [refused] = sent(services, "notice")
    confirmation = outbound(services, "confirmation")
    process(reply(confirmation, CITIZEN, "Aggiungo una foto.", name="Mario Bianchi"))
    forward = outbound(services, "forward")  # the citizen's follow-up, shown to the office
    for row in (opened, refused, forward):
        plain, html = text_of(row), text_of(row, "html")
        for spec in commands.COMMANDS:
            assert f"#{spec.name}" in plain and spec.help_it[:30] in plain, (row.kind, spec.name)
            assert f"<code>{spec.usage('it')}</code>" in html, (row.kind, spec.name)
    assert "la risposta inviata è la\nrisposta motivata" in text_of(opened)


def test_the_commands_are_taught_in_english_too(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", extra='language = "en"'))
    process = make_process(services)
    process("citizen_plain.eml")
    notification = outbound(services, "notification")
    process(reply(notification, OPERATOR, "We are on it."))
    [notice] = sent(services, "notice")
    for row in (notification, notice):
        body = text_of(row)
        for spec in commands.COMMANDS:
            assert f"#{spec.name}" in body and spec.help_en[:30] in body, spec.name
    assert "recorded as the service\ncharter's REASONED REPLY" in text_of(notice)


def test_the_command_table_is_what_the_parser_knows():
    names = [spec.name for spec in commands.COMMANDS]
    assert len(names) == len(set(names))
    for spec in commands.COMMANDS:
        parsed = commands.parse(f"#{spec.name} x 1\ntesto")
        assert parsed.has(spec.name) is not None and not parsed.errors, spec.name
    assert commands.parse("#interlocutoria\nStiamo verificando.").body == "Stiamo verificando."


def test_the_tipo_help_names_every_kind_tipo_accepts_by_its_short_word():
    """Review finding 7: the regulated kinds' words (informazioni, rettifica) are taught too."""
    from mailbot.cases.register import kind_of
    from mailbot.config import SUBMISSION_KINDS

    for language in ("it", "en"):
        [listed] = [h for u, h in commands.help_lines(language) if u.startswith("#tipo ")]
        words = [w.strip() for w in listed.split(",")]
        assert "informazioni" in words and "rettifica" in words, language
        assert sorted(kind_of(w) or w for w in words) == sorted(SUBMISSION_KINDS), language


# --- item 4: closed once --------------------------------------------------------------------


def test_a_second_chiudi_sends_no_second_closing_letter_and_tells_the_operator(
    services, process, opened
):
    process(reply(opened, OPERATOR, "#chiudi\nRiparata oggi."))
    closed_at = case(services).closed_at
    process(reply(opened, OPERATOR, "#chiudi"))
    assert len(sent(services, "closing")) == 1
    assert case(services).closed_at == closed_at
    [notice] = [n for n in sent(services, "notice") if "già chiusa" in subject_of(n)]
    assert notice.recipients == OPERATOR
    assert "non ha ricevuto una seconda lettera di chiusura" in text_of(notice)
    assert len(events(services, "work_order.closed")) == 1
    assert events(services, "work_order.close_repeated")


# --- item 5: staff mail naming a case without a signed reference ---------------------------


@pytest.mark.parametrize("sender", [OPERATOR, OFFICE])
def test_staff_mail_naming_a_case_without_a_reference_opens_none_and_tells_them(
    services, process, opened, sender
):
    raw = reply(
        None, sender, "Il cantiere interviene giovedì.", subject="[Pratica 2026/000001] Buca"
    )
    outcome = process(raw)
    assert outcome.status == LedgerStatus.IGNORED and outcome.work_order_number == "2026/000001"
    assert [w.number for w in rows(services, WorkOrder)] == ["2026/000001"]
    assert len(sent(services, "confirmation")) == 1  # the citizen's only
    assert sent(services, "relay") == []
    [notice] = sent(services, "notice")
    assert notice.recipients == sender
    assert "Messaggio non collegato alla pratica" in subject_of(notice)
    body = text_of(notice)
    assert "non è stata aperta alcuna pratica" in body
    assert "rispondete al messaggio di notifica" in body
    entry = rows(services, InboundMessage)[-1]
    assert entry.status == LedgerStatus.IGNORED and entry.reason.startswith("staff mail")
    # Answering that notice is answering the case.
    assert process(reply(notice, sender, "#nota\nVisto.")).status == LedgerStatus.THREADED
    assert kinds(services)[-1] == "note"


def test_staff_mail_naming_no_known_case_opens_none(services, process, opened):
    raw = reply(None, OPERATOR, "Pratica vecchia.", subject="R: [Pratica 2025/000042] Vecchia")
    assert process(raw).status == LedgerStatus.IGNORED
    assert [w.number for w in rows(services, WorkOrder)] == ["2026/000001"]
    [notice] = sent(services, "notice")
    assert notice.recipients == OPERATOR and "2025/000042" in text_of(notice)


def test_staff_mail_without_a_case_tag_is_still_a_complaint(services, process, opened):
    raw = reply(None, OPERATOR, "Anche davanti al municipio c'è una buca.", subject="Buca")
    assert process(raw).work_order_number == "2026/000002"


# --- item 5: voiding a case opened in error ------------------------------------------------


def test_a_voided_case_keeps_its_number_and_nothing_more_is_sent_for_it(services, process, opened):
    pending = len([o for o in rows(services, OutboundMessage) if o.status == "pending"])
    assert pending == 2  # the confirmation and the notification, not yet sent
    said = voiding.void_case(
        services, "2026/000001", "  aperta per errore:\nmail interna ", "admin"
    )
    assert "2 queued message(s) cancelled" in said
    wo = case(services)
    assert wo.void_reason == "aperta per errore: mail interna" and wo.voided_by == "admin"
    assert wo.voided_at is not None and wo.number == "2026/000001"
    assert {o.status for o in rows(services, OutboundMessage)} == {"cancelled"}
    # An operator's mail on it: a notice, nothing carried out.
    process(reply(opened, OPERATOR, "#chiudi\nFatto."))
    assert sent(services, "relay") == [] and sent(services, "closing") == []
    assert case(services).status == "open"
    [notice] = sent(services, "notice")
    assert "Pratica annullata" in subject_of(notice) and "aperta per errore" in text_of(notice)
    # The citizen's follow-up is kept with it, and goes nowhere.
    confirmation = outbound(services, "confirmation")
    process(reply(confirmation, CITIZEN, "Allora?", name="Mario Bianchi"))
    assert sent(services, "forward") == [] and kinds(services)[-1] == "citizen_followup"
    with Session(services.engine) as session:
        assert refunds.owe(session, workorders.by_number(session, "2026/000001"), "late",
                           services.settings, "x") is None  # fmt: skip


def test_voiding_twice_or_without_a_reason_is_refused(services, process, opened):
    with pytest.raises(InputError, match="say why"):
        voiding.void_case(services, "2026/000001", "  ", "admin")
    voiding.void_case(services, "2026/000001", "doppione della 2026/000002", "admin")
    with pytest.raises(InputError, match="already void"):
        voiding.void_case(services, "2026/000001", "ancora", "admin")


def test_a_voided_case_is_in_no_digest(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml"))
    process = make_process(services)
    with today_is(datetime(2026, 3, 11, 9, tzinfo=UTC)) as now:
        process(complaint(1), received_at=now - timedelta(days=44))  # overdue
        process(complaint(2), received_at=now - timedelta(days=44))  # overdue, then voided
        voiding.void_case(services, "2026/000002", "doppione della 2026/000001", "admin")
        assert send_digests(services, now) == 1
    [digest] = sent(services, "digest")
    assert "2026/000001" in text_of(digest) and "2026/000002" not in text_of(digest)


def test_a_voided_case_gets_no_notice_of_its_failed_mail(services, process, opened):
    with Session(services.engine) as session, session.begin():
        confirmation = session.get(OutboundMessage, outbound(services, "confirmation").id)
        confirmation.status, confirmation.last_error = "failed", "550 no such user"
    voiding.void_case(services, "2026/000001", "doppione", "admin")
    assert notices.report_failures(services) == 0
    assert sent(services, "notice") == []
