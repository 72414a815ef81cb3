"""The desk flow and the approval of replies (issue 29, part C): a case opened by a desk stays
the desk's; the competent office's answer is held and sent to the desk, never to the citizen,
the clock untouched; the desk's `#approva` relays it signed by the desk (the reasoned reply,
its commands carried out), its own text replaces it, `#respingi` sends it back to its author;
a request is decided once. An office with `approval = true` holds its operators' replies for
its responsible the same way, and the responsible's own reply leaves at once."""

from __future__ import annotations

import email
from email.policy import default

import pytest
from sqlmodel import Session

from mailbot.cases import approval, desk, views, workorders
from mailbot.entry import Submission, file_submission
from mailbot.errors import InputError
from mailbot.models import ConversationMessage, Event, OutboundMessage, WorkOrder
from mailbot.types import Attachment, LedgerStatus
from unit.test_conversations import OPERATOR, reply

from support.app import complaint, make_process, make_services, rows, sent, write_config

CITIZEN = "giulia.verdi@example.net"
DESK = "sportello.bari@agenzia.example.it"
DESK_MEMBER = "anna.bianchi@agenzia.example.it"
RESPONSIBLE = "dirigente@comune.example.it"
NUMBER = "2026/000001"

DESKS = f"""
[charter]
satisfaction_survey = true
[[desks]]
id = "bari"
name = "Sportello di Bari"
email = "{DESK}"
phone = "080 123456"
[[staff]]
email = "{DESK_MEMBER}"
name = "Anna Bianchi"
roles = ["desk"]
desks = ["bari"]
[[staff]]
email = "{DESK}"
name = "Sportello di Bari"
roles = ["desk"]
desks = ["bari"]
"""

APPROVAL = f"""
[[staff]]
email = "{RESPONSIBLE}"
name = "Ing. Carla Neri"
roles = ["responsible"]
offices = ["urp"]
"""


def services_with(tmp_path, extra: str, *, approval: bool = False, mailbox_desk: str = ""):
    (tmp_path / "maildir").mkdir()
    box = {"source": "maildir", "path": str(tmp_path / "maildir")}
    path = write_config(tmp_path / "mailbot.toml", mailbox={**box, "desk": mailbox_desk})
    text = path.read_text()
    if approval:  # the responsible answers the office's mail too (today's operators list)
        text = text.replace("response_days = 30\n", "response_days = 30\napproval = true\n")
        text = text.replace('operators = ["', f'operators = ["{RESPONSIBLE}", "')
    path.write_text(text + extra)
    return make_services(path)


@pytest.fixture
def desk_services(tmp_path):
    svc = services_with(tmp_path, DESKS)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def approval_services(tmp_path):
    svc = services_with(tmp_path, APPROVAL, approval=True)
    yield svc
    svc.engine.dispose()


def parsed(row: OutboundMessage) -> email.message.EmailMessage:
    return email.message_from_bytes(row.raw, policy=default)


def text_of(row: OutboundMessage) -> str:
    return str(parsed(row).get_body(("plain",)).get_content()).replace("\r\n", "\n")


def sender_name(row: OutboundMessage) -> str:
    return str(parsed(row)["From"].addresses[0].display_name)


def case(services) -> WorkOrder:
    with Session(services.engine) as session:
        return workorders.by_number(session, NUMBER)


def kinds(services) -> list[str]:
    with Session(services.engine) as session:
        detail = views.show_work_order(session, NUMBER, services.settings.timezone)
    return [m["kind"] for m in detail["messages"]]


def events(services, kind: str) -> list[Event]:
    return [e for e in rows(services, Event) if e.kind == kind]


def open_at_desk(services, actor: str = DESK_MEMBER, **extra) -> None:
    submission = Submission(
        channel="sportello",
        subject="Bolletta errata",
        text="La bolletta di febbraio conteggia due volte il canone.",
        name="Giulia Verdi",
        email=CITIZEN,
        **extra,
    )
    outcome = file_submission(services, submission, actor=actor)
    assert outcome.work_order_number == NUMBER


@pytest.fixture
def held(desk_services):
    """A desk's case, and the office's answer (closing it) held for the desk."""
    open_at_desk(desk_services)
    before = case(desk_services)
    notification = sent(desk_services, "notification")[0]
    invoice = Attachment("nota-credito.pdf", "application/pdf", b"%PDF-1.4 nota di credito")
    raw = reply(notification, OPERATOR, "#chiudi\nLa nota di credito è allegata.")
    msg = email.message_from_bytes(raw, policy=default)
    msg.add_attachment(invoice.payload, maintype="application", subtype="pdf",
                       filename=invoice.filename)  # fmt: skip
    outcome = make_process(desk_services)(msg.as_bytes())
    assert outcome.status == LedgerStatus.THREADED
    assert "held for approval by desk bari" in (outcome.reason or "")
    return before


def test_a_case_typed_in_by_a_desk_member_is_the_desks(desk_services):
    open_at_desk(desk_services)
    assert case(desk_services).desk == "bari"
    [recorded] = events(desk_services, "work_order.desk")
    assert '"desk": "bari"' in recorded.data
    [entered] = events(desk_services, "work_order.entered")
    assert '"desk": "bari"' in entered.data
    [confirmation] = sent(desk_services, "confirmation")  # naming the competent office
    assert "Ufficio competente: Ufficio Relazioni con il Pubblico" in text_of(confirmation)
    [notification] = sent(desk_services, "notification")  # the office still gets the case
    assert notification.recipients == "urp@comune.example.it"


def test_an_operator_of_no_desk_opens_an_offices_case_and_a_wrong_desk_is_refused(
    desk_services,
):
    open_at_desk(desk_services, actor=OPERATOR)
    assert case(desk_services).desk == ""
    with pytest.raises(InputError, match=r"--desk: no desk 'roma' \(known: bari"):
        open_at_desk(desk_services, actor=OPERATOR, desk="roma")


def test_the_offices_answer_goes_to_the_desk_not_the_citizen_and_the_clock_is_untouched(
    desk_services, held
):
    assert sent(desk_services, "relay") == [] and sent(desk_services, "closing") == []
    [request] = sent(desk_services, "approval")
    assert request.recipients == DESK
    assert request.message_id.split(".")[2] == "a"  # a signed approval request
    body = text_of(request)
    assert "#chiudi\nLa nota di credito è allegata." in body  # the whole text, commands too
    assert "Mario Rossi <mario.rossi@comune.example.it>" in body
    assert "#approva" in body and "#respingi MOTIVO" in body
    assert [p.get_filename() for p in parsed(request).iter_attachments()] == ["nota-credito.pdf"]
    now = case(desk_services)
    assert now.status == "open" and now.reasoned_reply_at is None
    assert now.due_at == held.due_at and now.suspended_at is None
    assert kinds(desk_services)[-2:] == ["pending_reply", "approval"]


def test_approva_relays_the_answer_signed_by_the_desk_and_carries_out_its_commands(
    desk_services, held
):
    [request] = sent(desk_services, "approval")
    outcome = make_process(desk_services)(
        reply(request, DESK_MEMBER, "#approva", name="Anna Bianchi")
    )
    assert outcome.status == LedgerStatus.THREADED
    [relay] = sent(desk_services, "relay")
    assert relay.recipients == CITIZEN
    assert sender_name(relay) == "Sportello di Bari"
    assert text_of(relay).startswith("La nota di credito è allegata.")
    assert "Telefono: 080 123456" in text_of(relay)
    assert [p.get_filename() for p in parsed(relay).iter_attachments()] == ["nota-credito.pdf"]
    assert OPERATOR.encode() not in relay.raw
    now = case(desk_services)
    assert now.reasoned_reply_at is not None and now.status == "closed"  # #chiudi took effect
    [closing] = sent(desk_services, "closing")  # the satisfaction request comes from the desk
    assert sender_name(closing) == "Sportello di Bari"
    assert "da 1 (per niente soddisfatto) a 5" in text_of(closing)
    assert "Sportello di Bari" in text_of(closing)


def test_the_desks_own_text_replaces_the_held_answer(desk_services, held):
    [request] = sent(desk_services, "approval")
    own = "Gentile signora Verdi, le abbiamo già emesso la nota di credito."
    make_process(desk_services)(reply(request, DESK_MEMBER, own, name="Anna Bianchi"))
    [relay] = sent(desk_services, "relay")
    assert text_of(relay).startswith(own)
    assert "nota di credito è allegata" not in text_of(relay)
    assert sender_name(relay) == "Anna Bianchi — Sportello di Bari"
    now = case(desk_services)
    assert now.reasoned_reply_at is not None
    assert now.status == "open"  # the held #chiudi was the office's, not carried out
    assert events(desk_services, "approval.replaced")


def test_respingi_sends_the_answer_back_to_its_author_and_nothing_to_the_citizen(
    desk_services, held
):
    [request] = sent(desk_services, "approval")
    make_process(desk_services)(
        reply(request, DESK_MEMBER, "#respingi manca l'importo della nota", name="Anna Bianchi")
    )
    assert sent(desk_services, "relay") == [] and sent(desk_services, "closing") == []
    [notice] = sent(desk_services, "notice")
    assert notice.recipients == OPERATOR
    assert "respinta da Anna Bianchi: manca l'importo della nota" in text_of(notice)
    assert case(desk_services).reasoned_reply_at is None
    # The author answers the notice with a new version: held for the desk again.
    make_process(desk_services)(reply(notice, OPERATOR, "La nota di credito è di 42 euro."))
    assert len(sent(desk_services, "approval")) == 2 and sent(desk_services, "relay") == []


def test_a_second_answer_to_a_decided_request_is_told_not_applied(desk_services, held):
    [request] = sent(desk_services, "approval")
    process = make_process(desk_services)
    process(reply(request, DESK_MEMBER, "#approva", name="Anna Bianchi"))
    outcome = process(reply(request, DESK, "#approva", name="Sportello di Bari"))
    assert outcome.status == LedgerStatus.IGNORED
    assert len(sent(desk_services, "relay")) == 1 and len(sent(desk_services, "closing")) == 1
    [told] = [n for n in sent(desk_services, "notice") if n.recipients == DESK]
    assert "già stata decisa (approvata" in text_of(told)


def test_nobody_outside_the_desk_decides_and_a_stranger_is_never_the_citizen(desk_services, held):
    [request] = sent(desk_services, "approval")
    process = make_process(desk_services)
    outcome = process(reply(request, "someone@elsewhere.example", "#approva", name="X"))
    assert outcome.status == LedgerStatus.IGNORED
    assert sent(desk_services, "relay") == [] and sent(desk_services, "forward") == []
    assert "citizen_followup" not in kinds(desk_services)
    assert case(desk_services).reasoned_reply_at is None
    assert events(desk_services, "approval.stranger")


def test_the_desk_answering_its_citizen_directly_is_not_held(desk_services):
    open_at_desk(desk_services)
    with Session(desk_services.engine) as session:
        work_order = workorders.by_number(session, NUMBER)
        approver = approval.approver_of(desk_services, session, work_order, DESK)
        office_approver = approval.approver_of(desk_services, session, work_order, OPERATOR)
    assert approver is None
    assert office_approver is not None and office_approver.address == DESK


def test_a_desks_signature_replaces_the_offices_name_email_and_phone(desk_services):
    open_at_desk(desk_services)
    signing = desk.signing_office(desk_services.settings, case(desk_services))
    assert (signing.name, signing.email, signing.phone) == (
        "Sportello di Bari",
        DESK,
        "080 123456",
    )
    assert signing.id == "urp"


def test_mail_to_a_desks_own_mailbox_opens_a_desk_case(tmp_path):
    services = services_with(tmp_path, DESKS, mailbox_desk="bari")
    make_process(services)(complaint(1))
    assert case(services).desk == "bari"
    assert len(events(services, "work_order.desk")) == 1
    services.engine.dispose()


# --- an office whose operators' replies wait for the responsible ---------------------------


def test_an_operators_reply_waits_for_the_responsible_who_approves_it(approval_services):
    process = make_process(approval_services)
    process(complaint(1))
    [notification] = sent(approval_services, "notification")
    outcome = process(reply(notification, OPERATOR, "La buca sarà riparata entro venerdì."))
    assert "held for approval by responsible urp" in (outcome.reason or "")
    assert sent(approval_services, "relay") == []
    [request] = sent(approval_services, "approval")
    assert request.recipients == RESPONSIBLE
    assert "attende la vostra\napprovazione" in text_of(request)
    assert case(approval_services).reasoned_reply_at is None
    # An operator cannot approve it; the responsible can.
    process(reply(request, OPERATOR, "#approva"))
    assert sent(approval_services, "relay") == []
    process(reply(request, RESPONSIBLE, "#approva", name="Carla Neri"))
    [relay] = sent(approval_services, "relay")
    assert text_of(relay).startswith("La buca sarà riparata entro venerdì.")
    assert sender_name(relay) == "Ufficio Relazioni con il Pubblico"
    assert case(approval_services).reasoned_reply_at is not None
    pending = [m for m in rows(approval_services, ConversationMessage) if m.kind == "pending_reply"]
    assert [m.author for m in pending] == [OPERATOR]  # kept, never sent


def test_the_responsibles_own_reply_leaves_directly(approval_services):
    process = make_process(approval_services)
    process(complaint(1))
    [notification] = sent(approval_services, "notification")
    process(reply(notification, RESPONSIBLE, "#chiudi\nRiparata oggi.", name="Carla Neri"))
    assert sent(approval_services, "approval") == []
    [relay] = sent(approval_services, "relay")
    assert text_of(relay).startswith("Riparata oggi.")
    assert case(approval_services).status == "closed"


def test_respingi_needs_a_reason_and_the_request_still_waits(desk_services, held):
    [request] = sent(desk_services, "approval")
    process = make_process(desk_services)
    process(reply(request, DESK_MEMBER, "#respingi", name="Anna Bianchi"))
    [told] = sent(desk_services, "notice")
    assert told.recipients == DESK_MEMBER and "#respingi richiede il motivo" in text_of(told)
    process(reply(request, DESK_MEMBER, "#approva", name="Anna Bianchi"))
    assert len(sent(desk_services, "relay")) == 1  # still undecided, so approved now


def test_an_approved_extension_is_carried_out_once_and_told_by_the_desk(desk_services):
    open_at_desk(desk_services)
    due = case(desk_services).due_at
    [notification] = sent(desk_services, "notification")
    process = make_process(desk_services)
    process(
        reply(
            notification, OPERATOR, "#proroga 15 servono verifiche\n#interlocutoria\nVerifichiamo."
        )
    )
    assert case(desk_services).due_at == due and sent(desk_services, "extension") == []
    [request] = sent(desk_services, "approval")
    process(reply(request, DESK_MEMBER, "#approva", name="Anna Bianchi"))
    [extension] = sent(desk_services, "extension")
    assert sender_name(extension) == "Sportello di Bari"
    assert case(desk_services).extension_days == 15
    assert case(desk_services).reasoned_reply_at is None  # an interim message does not count


def test_an_office_reply_from_the_command_line_is_held_for_the_desk_too(desk_services):
    from mailbot.cases.operator import operator_action

    open_at_desk(desk_services)
    done = operator_action(desk_services, NUMBER, OPERATOR, "La pratica è in lavorazione.")
    assert "held for approval by desk bari (Sportello di Bari)" in done
    assert sent(desk_services, "relay") == [] and len(sent(desk_services, "approval")) == 1


def test_a_desk_reports_on_its_own_clientele(desk_services):
    from mailbot.admin import reports

    open_at_desk(desk_services)  # the desk's case, 2026/000001
    process = make_process(desk_services)
    assert process(complaint(2)).status == LedgerStatus.FILED  # mailed to the office: no desk
    settings, clock = desk_services.settings, desk_services.clock
    with Session(desk_services.engine) as session:
        everyone = reports.register(session, settings, clock, 2026)
        own = reports.register(session, settings, clock, 2026, desk="bari")
    assert [r["number"] for r in everyone] == [NUMBER, "2026/000002"]
    assert [r["number"] for r in own] == [NUMBER]
