"""Conversations through the pipeline: operator replies, commands, citizen follow-ups, safety."""

from __future__ import annotations

import email
import itertools
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP, default

import pytest
from sqlmodel import Session

from mailbot.cases import views, workorders
from mailbot.models import Event, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from support.app import rows

OPERATOR = "mario.rossi@comune.example.it"
CITIZEN = "mario.bianchi@example.net"
_ids = itertools.count(1)

OUTLOOK_IT_QUOTE = """

Da: Comune di Esempio - URP <suggerimenti@comune.example.it>
Inviato: lunedì 2 marzo 2026 10:15
A: Ufficio Relazioni con il Pubblico <urp@comune.example.it>
Oggetto: [Pratica 2026/000001] Nuova pratica: Buca pericolosa in via Verdi

Nuova pratica n. 2026/000001 per Ufficio Relazioni con il Pubblico.
segnalo una buca profonda davanti al civico 12 di via Verdi.
"""


def outbound(services, kind: str, n: int = -1) -> OutboundMessage:
    return [o for o in rows(services, OutboundMessage) if o.kind == kind][n]


def reply(
    to_row: OutboundMessage | None,
    sender: str,
    body: str,
    name: str = "Mario Rossi",
    subject: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A reply as a mail client writes it: In-Reply-To/References to what we sent."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "suggerimenti@comune.example.it"
    if to_row is not None:
        original = email.message_from_bytes(to_row.raw, policy=default)
        msg["Subject"] = subject or f"R: {original['Subject'].strip()}"
        msg["In-Reply-To"] = to_row.message_id
        msg["References"] = to_row.message_id
    else:
        msg["Subject"] = subject or "senza riferimenti"
    msg["Message-ID"] = f"<reply-{next(_ids)}@clients.example>"
    for header, value in (headers or {}).items():
        msg[header] = value
    msg.set_content(body)
    return msg.as_bytes()


def case(services, number="2026/000001") -> WorkOrder:
    with Session(services.engine) as session:
        return workorders.by_number(session, number)


def kinds(services, number="2026/000001") -> list[str]:
    with Session(services.engine) as session:
        detail = views.show_work_order(session, number, services.settings.timezone)
    return [m["kind"] for m in detail["messages"]]


@pytest.fixture
def opened(services, process):
    assert process("citizen_plain.eml").status == LedgerStatus.FILED
    return outbound(services, "notification")


def test_operator_reply_is_stripped_and_relayed_from_the_institution(services, process, opened):
    body = (
        "Gentile signor Bianchi,\n\nla buca sarà riparata entro venerdì.\n\nMario Rossi"
        + OUTLOOK_IT_QUOTE
    )
    outcome = process(reply(opened, OPERATOR, body))
    assert outcome.status == LedgerStatus.THREADED
    relay = outbound(services, "relay")
    assert relay.recipients == CITIZEN
    assert OPERATOR.encode() not in relay.raw  # never exposed
    msg = email.message_from_bytes(relay.raw, policy=default)
    assert msg["From"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
    assert (
        msg["From"].addresses[0].display_name == "Mario Rossi — Ufficio Relazioni con il Pubblico"
    )
    assert msg["In-Reply-To"].strip() == "<citizen-plain-0001@mail.example.net>"
    assert "<citizen-plain-0001@mail.example.net>" in msg["References"]
    assert msg["Subject"].strip() == "[Pratica 2026/000001] Buca pericolosa in via Verdi"
    text = msg.get_body(("plain",)).get_content()
    assert "la buca sarà riparata entro venerdì." in text
    assert "Inviato:" not in text and "segnalo una buca" not in text
    # A plain reply is the reasoned reply, and the operator is told so (once) with the way back.
    assert kinds(services) == [
        "citizen", "confirmation", "notification", "operator_reply", "relay", "notice",
    ]  # fmt: skip
    assert case(services).reasoned_reply_at is not None


def test_only_an_answer_is_the_reasoned_reply_and_later_ones_do_not_move_it(
    services, process, opened
):
    process(reply(opened, OPERATOR, "#interlocutoria\nLa stiamo verificando, le scriveremo."))
    process(reply(opened, OPERATOR, "#sospendi Ci serve il numero civico esatto."))  # a question
    assert case(services).reasoned_reply_at is None
    process(reply(opened, OPERATOR, "#risposta\nLa buca sarà chiusa lunedì."))
    first = case(services).reasoned_reply_at
    assert first is not None and case(services).status != "closed"  # answered, not closed
    process(reply(opened, OPERATOR, "#chiudi\nLavori finiti."))
    assert case(services).reasoned_reply_at == first
    assert len([o for o in rows(services, OutboundMessage) if o.kind == "relay"]) == 4
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "notice"]  # all explicit


def test_a_closing_reply_is_the_reasoned_reply(services, process, opened):
    process(reply(opened, OPERATOR, "#chiudi\nRiparata oggi."))
    assert case(services).reasoned_reply_at is not None and case(services).status == "closed"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("#risposta\n#sospendi manca il civico\nQuale civico?", "#risposta e #sospendi"),
        ("#risposta", "#risposta richiede il testo"),
    ],
)
def test_an_answer_that_is_no_answer_is_refused(services, process, opened, text, error):
    process(reply(opened, OPERATOR, text))
    notice = outbound(services, "notice")
    assert (
        error
        in email.message_from_bytes(notice.raw, policy=default).get_body(("plain",)).get_content()
    )
    assert case(services).reasoned_reply_at is None and case(services).status == "open"


def test_nota_is_recorded_and_never_sent_to_the_citizen(services, process, opened):
    process(reply(opened, OPERATOR, "#nota\nHo chiamato il cantiere, intervento giovedì."))
    assert kinds(services)[-1] == "note"
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]


def test_chiudi_relays_then_closes(services, process, opened):
    process(reply(opened, OPERATOR, "#chiudi\nLa buca è stata riparata."))
    assert outbound(services, "relay").recipients == CITIZEN
    wo = case(services)
    assert wo.status == "closed" and wo.closed_at is not None


def test_sospendi_asks_the_citizen_and_their_answer_resumes_the_case(services, process, opened):
    process(
        reply(
            opened, OPERATOR, "#sospendi manca il numero civico\nCi può indicare il civico esatto?"
        )
    )
    assert case(services).status == "suspended"
    relay = outbound(services, "relay")
    assert b"Ci pu" in relay.raw
    process(reply(relay, CITIZEN, "Il civico è il 12.", name="Mario Bianchi"))
    wo = case(services)
    assert wo.status == "open" and wo.suspended_at is None
    assert kinds(services)[-2:] == ["citizen_followup", "forward"]
    assert outbound(services, "forward").recipients == "urp@comune.example.it"


def test_riprendi_resumes_a_suspended_case_when_the_answer_came_another_way(
    services, process, opened
):
    process(reply(opened, OPERATOR, "#sospendi manca il numero civico\nQuale civico?"))
    relayed = len([o for o in rows(services, OutboundMessage) if o.kind == "relay"])
    process(
        reply(outbound(services, "notification"), OPERATOR, "#riprendi\n#nota\nDetto al telefono.")
    )
    wo = case(services)
    assert wo.status == "open" and wo.suspended_at is None
    assert len([o for o in rows(services, OutboundMessage) if o.kind == "relay"]) == relayed
    # On a case that is not suspended it is refused, and the operator told why.
    process(reply(outbound(services, "notification"), OPERATOR, "#riprendi\n#nota"))
    notice = email.message_from_bytes(outbound(services, "notice").raw, policy=default)
    assert "la pratica non è sospesa" in notice.get_body(("plain",)).get_content()


def test_assegna_hands_the_case_to_another_office_without_telling_the_citizen(
    tmp_path, process, services
):
    # A second office exists only in this test's config.
    from support.app import make_process, make_services, write_config

    path = write_config(tmp_path / "two.toml")
    path.write_text(
        path.read_text()
        + '\n[[offices]]\nid = "tributi"\nname = "Ufficio Tributi"\nemail = "tributi@comune.example.it"\noperators = ["anna.neri@comune.example.it"]\n'
    )
    (tmp_path / "maildir").mkdir(exist_ok=True)
    two = make_services(path)
    run = make_process(two)
    run("citizen_plain.eml")
    run(
        reply(outbound(two, "notification"), OPERATOR, "#assegna tributi\nÈ una questione di TARI.")
    )
    wo = case(two)
    assert wo.office == "tributi"
    notifications = [o for o in rows(two, OutboundMessage) if o.kind == "notification"]
    assert [n.recipients for n in notifications] == [
        "urp@comune.example.it",
        "tributi@comune.example.it",
    ]
    assert not [o for o in rows(two, OutboundMessage) if o.kind == "relay"]
    assert kinds(two)[-2:] == ["note", "notification"]
    # the new office's operator can now answer; the old one can no longer speak for the case
    run(
        reply(
            notifications[1],
            "anna.neri@comune.example.it",
            "Provvediamo al rimborso.",
            name="Anna Neri",
        )
    )
    assert next(o for o in rows(two, OutboundMessage) if o.kind == "relay").recipients == CITIZEN
    run(reply(notifications[0], OPERATOR, "Rispondo io, invece."))
    assert len([o for o in rows(two, OutboundMessage) if o.kind == "relay"]) == 1
    # staff mail, never the citizen's: a note shown to tributi, the writer told (issue 29)
    assert kinds(two)[-3:] == ["note", "internal_note", "notice"]
    assert "citizen_followup" not in kinds(two)


def test_unknown_command_relays_nothing_and_explains(services, process, opened):
    process(reply(opened, OPERATOR, "#archivia\nChiudiamo."))
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]
    notice = outbound(services, "notice")
    assert notice.recipients == OPERATOR
    text = email.message_from_bytes(notice.raw, policy=default).get_body(("plain",)).get_content()
    assert "comando sconosciuto: #archivia" in text
    assert "operator_reply.refused" in {e.kind for e in rows(services, Event)}


def test_operator_address_without_a_signed_reference_is_not_an_operator(services, process, opened):
    # Subject tag only, from the operator's address: anyone can forge a From line. Nothing is
    # relayed, and (staff mail is never a citizen's) no case is opened either.
    forged = reply(None, OPERATOR, "Rimborso approvato.", subject="[Pratica 2026/000001] Buca")
    outcome = process(forged)
    assert outcome.status == LedgerStatus.IGNORED and outcome.work_order_number == "2026/000001"
    assert [w.number for w in rows(services, WorkOrder)] == ["2026/000001"]
    assert [o.kind for o in rows(services, OutboundMessage)] == [
        "confirmation", "notification", "notice",
    ]  # fmt: skip
    assert case(services).reasoned_reply_at is None


def test_forged_signature_is_not_a_reference(services, process, opened):
    forged = opened.message_id.replace(opened.message_id[-30:-25], "00000")
    raw = reply(opened, OPERATOR, "Rimborso approvato.").replace(
        opened.message_id.encode(), forged.encode()
    )
    assert process(raw).status == LedgerStatus.IGNORED  # told to answer the notification
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]
    assert [w.number for w in rows(services, WorkOrder)] == ["2026/000001"]


def test_subject_tag_from_a_stranger_opens_a_new_case(services, process, opened):
    raw = reply(
        None,
        "stranger@example.org",
        "Anche io ho una buca.",
        name="X",
        subject="[Pratica 2026/000001] Buca",
    )
    assert process(raw).work_order_number == "2026/000002"
    assert kinds(services) == ["citizen", "confirmation", "notification"]


def test_subject_tag_from_the_contact_is_a_follow_up(services, process, opened):
    raw = reply(
        None,
        CITIZEN,
        "Aggiungo una foto.",
        name="Mario Bianchi",
        subject="Re: [Pratica 2026/000001] Buca",
    )
    assert process(raw).status == LedgerStatus.THREADED
    assert kinds(services)[-2:] == ["citizen_followup", "forward"]


def test_non_operator_answering_a_notification_is_a_note_not_relayed(services, process, opened):
    # Only the institution received the notification: whoever answers it is not the citizen.
    process(reply(opened, "someone.else@comune.example.it", "Inoltro a voi.", name="Qualcuno"))
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]
    assert kinds(services)[-3:] == ["note", "internal_note", "notice"]


def test_auto_reply_to_our_mail_is_recorded_on_the_case_and_never_answered(
    services, process, opened
):
    confirmation = outbound(services, "confirmation")
    raw = reply(
        confirmation, CITIZEN, "Sono fuori sede.", headers={"Auto-Submitted": "auto-replied"}
    )
    outcome = process(raw)
    assert outcome.status == LedgerStatus.IGNORED
    assert len(rows(services, OutboundMessage)) == 2  # nothing new
    from mailbot.models import InboundMessage

    assert rows(services, InboundMessage)[-1].work_order_id == case(services).id


def test_follow_up_reopens_a_recently_closed_case_and_later_opens_a_linked_one(
    services, process, opened
):
    process(reply(opened, OPERATOR, "#chiudi\nFatto."))
    relay = outbound(services, "relay")
    process(reply(relay, CITIZEN, "Non è stata riparata bene.", name="Mario Bianchi"))
    assert case(services).status == "open"
    process(reply(opened, OPERATOR, "#chiudi\nOra sì."))
    # Closed long ago: a new case, linked to the old one.
    with Session(services.engine) as session, session.begin():
        wo = workorders.by_number(session, "2026/000001")
        assert wo.closed_at is not None
        wo.closed_at = wo.closed_at - timedelta(days=31)
    later = outbound(services, "relay")
    outcome = process(reply(later, CITIZEN, "La buca si è riaperta.", name="Mario Bianchi"))
    assert outcome.work_order_number == "2026/000002"
    assert case(services, "2026/000002").parent_id == case(services).id
    assert case(services).status == "closed"


def test_operator_signature_and_address_never_reach_the_citizen(services, process, opened):
    outlook_signature = (
        "Il cantiere interverrà giovedì.\n\nCordiali saluti\nMario Rossi\n"
        "Ufficio Relazioni con il Pubblico\nTel. 0471 123456 - int. 42\n"
        "mario.rossi@comune.example.it"
    )
    process(reply(opened, OPERATOR, outlook_signature))
    relay_mail = email.message_from_bytes(outbound(services, "relay").raw, policy=default)
    text = relay_mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Il cantiere interverrà giovedì.")
    assert "0471 123456" not in text and OPERATOR not in text
    assert (
        "Cordiali saluti\nMario Rossi — Ufficio Relazioni con il Pubblico" in text
    )  # the template's

    # No closing phrase to cut at: the line with the address still goes.
    process(
        reply(
            opened,
            OPERATOR,
            "Confermo l'intervento.\n\nMario Rossi - mario.rossi@comune.example.it",
        )
    )
    relay = outbound(services, "relay")
    assert OPERATOR.encode() not in relay.raw


def test_every_conversation_step_is_in_the_audit_trail(services, process, opened):
    process(reply(opened, OPERATOR, "#nota\nVerificato."))
    process(reply(opened, OPERATOR, "#risposta\nRisposta al cittadino."))
    process(reply(outbound(services, "relay"), CITIZEN, "Grazie.", name="Mario Bianchi"))
    process(reply(opened, OPERATOR, "#chiudi"))
    kinds = [e.kind for e in rows(services, Event)]
    for expected in (
        "message.note",
        "message.operator_reply",
        "message.relay",
        "work_order.reasoned_reply",
        "message.citizen_followup",
        "message.forward",
        "work_order.closed",
    ):
        assert expected in kinds, expected
    relay_event = next(e for e in rows(services, Event) if e.kind == "message.relay")
    assert relay_event.work_order_id == case(services).id


def test_plus_address_token_alone_identifies_an_operator_reply(tmp_path):
    from support.app import make_process, make_services, write_config

    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(
        path.read_text().replace('source = "maildir"', 'source = "maildir"\nplus_address = true')
    )
    services = make_services(path)
    run = make_process(services)
    run("citizen_plain.eml")
    notification = email.message_from_bytes(outbound(services, "notification").raw, policy=default)
    reply_to = notification["Reply-To"].addresses[0].addr_spec
    token = case(services).reply_token
    assert reply_to == f"suggerimenti+{token}@comune.example.it"
    # A client that drops In-Reply-To/References and rewrites the subject: the token is enough.
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Mario Rossi <{OPERATOR}>"
    msg["To"] = reply_to
    msg["Subject"] = "risposta"
    msg["Message-ID"] = "<token-reply@clients.example>"
    msg.set_content("Intervento fissato per lunedì.")
    assert run(msg.as_bytes()).status == LedgerStatus.THREADED
    assert outbound(services, "relay").recipients == CITIZEN
    # A guessed token is just another address.
    msg.replace_header("To", "suggerimenti+0123456789abcdef@comune.example.it")
    msg.replace_header("Message-ID", "<guess@clients.example>")
    assert run(msg.as_bytes()).status == LedgerStatus.FILED
