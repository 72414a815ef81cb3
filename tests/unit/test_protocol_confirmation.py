"""The protocol number on the citizen's confirmation (issue 33, item 6: "when registration is
synchronous"): with `[protocol] wait_seconds`, the confirmation of a new case waits for the
register (tests/support/fake_register.py) and carries "Protocollo n. … del …"; a register that
fails never keeps it: it leaves without the number, once (the timing over a real SMTP server,
with a register that hangs: tests/integration/test_protocol_register_smtp.py)."""

from __future__ import annotations

import email
import json
import mailbox
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.message import Message

import pytest
from sqlmodel import select

from mailbot import config as config_module
from mailbot import db
from mailbot.cases import registration
from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError
from mailbot.models import ConversationMessage, Event, OutboundMessage, ProtocolRegistration, utcnow
from mailbot.protocol import segnatura
from mailbot.replies import outbox
from unit.test_protocol_adapter import adapter_config
from unit.test_segnatura import (
    NS,
    OPERATOR,
    PLACEHOLDER_SIGNATURE,
    XSD,
    complaint_with_two_attachments,
)

from support.app import make_process, make_services, write_config

CASE = "2026/000001"


def config_for(tmp_path, state, *, wait=5, timeout=20, smtp_port=25, first=""):
    mailbox.Maildir(tmp_path / "maildir", create=True)
    extra = first + adapter_config(state, timeout) + f"wait_seconds = {wait}\n"
    return write_config(tmp_path / "mailbot.toml", smtp_port=smtp_port, extra=extra)


@pytest.fixture
def state(tmp_path):
    (tmp_path / "register").mkdir()
    return tmp_path / "register"


@pytest.fixture
def services(tmp_path, state):
    svc = make_services(config_for(tmp_path, state))
    yield svc
    svc.engine.dispose()


def confirmation(services) -> OutboundMessage:
    with db.read_only(services.engine) as session:
        return session.exec(
            select(OutboundMessage).where(OutboundMessage.kind == "confirmation")
        ).one()


def text_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert isinstance(part, Message)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_the_confirmation_waits_and_carries_the_number_under_the_same_message_id(services):
    make_process(services)(complaint_with_two_attachments())
    held = confirmation(services)
    assert held.next_attempt_at - utcnow() > timedelta(seconds=3)  # not due: waiting
    assert "Protocollo" not in text_of(held.raw)
    report = registration.run_due(services)
    assert report.registered
    sent = confirmation(services)
    assert sent.next_attempt_at <= utcnow() and sent.status == "pending"  # due now
    assert sent.message_id == held.message_id  # the same letter, once
    assert "Protocollo n. 0000001 del 2 marzo 2026" in text_of(sent.raw)
    with db.read_only(services.engine) as session:
        [row] = session.exec(select(ProtocolRegistration)).all()
        logged = session.exec(
            select(ConversationMessage).where(ConversationMessage.outbound_id == sent.id)
        ).one()
        [event] = session.exec(
            select(Event).where(Event.kind == "work_order.confirmation_numbered")
        ).all()
    assert "Protocollo n. 0000001" in logged.body_text  # the case's file shows what left
    assert json.loads(event.data) == {"number": "0000001"}
    assert (row.held_until, row.letter) == (None, "")


def test_a_failed_attempt_lets_the_confirmation_go_at_once_without_the_number(services, state):
    make_process(services)(complaint_with_two_attachments())
    (state / "mode").write_text("fail")
    assert registration.run_due(services).failed
    sent = confirmation(services)
    assert sent.next_attempt_at <= utcnow()
    assert "Protocollo" not in text_of(sent.raw)
    (state / "mode").unlink()  # registered later: the letter that left is not sent again
    assert registration.run_due(services, utcnow() + timedelta(minutes=5)).registered
    again = confirmation(services)
    assert (again.raw, again.next_attempt_at) == (sent.raw, sent.next_attempt_at)


def test_a_confirmation_a_sender_already_took_is_not_changed(services):
    make_process(services)(complaint_with_two_attachments())
    held = confirmation(services)
    later = utcnow() + timedelta(seconds=6)  # the wait is over: a sender claims it
    with db.unit_of_work(services.engine) as session:
        claimed = outbox.claim_due(session, later, 10, timedelta(minutes=5))
        assert held.id in [row.id for row in claimed]
    assert registration.run_due(services).registered  # the number comes too late
    after = confirmation(services)
    assert after.raw == held.raw and after.next_attempt_at == later + timedelta(minutes=5)
    with db.read_only(services.engine) as session:
        assert not session.exec(
            select(Event).where(Event.kind == "work_order.confirmation_numbered")
        ).all()


def test_without_wait_seconds_the_confirmation_is_due_at_once(tmp_path, state):
    services = make_services(config_for(tmp_path, state, wait=0))
    make_process(services)(complaint_with_two_attachments())
    assert confirmation(services).next_attempt_at <= utcnow()
    with db.read_only(services.engine) as session:
        [row] = session.exec(select(ProtocolRegistration)).all()
    assert row.held_until is None and row.confirmation_id is None
    services.engine.dispose()


def test_the_english_confirmation_carries_it_too(tmp_path, state):
    services = make_services(config_for(tmp_path, state, first='language = "en"\n'))
    make_process(services)(complaint_with_two_attachments())
    registration.run_due(services)
    assert "Protocol register: no. 0000001 of March 2, 2026" in text_of(confirmation(services).raw)
    services.engine.dispose()


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("wait_seconds = -1", "wait_seconds"),
        ("wait_seconds = 301", "wait_seconds"),
        ('wait_seconds = "5"', "wait_seconds"),
        ("alert_after_attempts = -1", "alert_after_attempts"),
        ("alert_after_hours = 1.5", "alert_after_hours"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path, line, key):
    path = write_config(tmp_path / "mailbot.toml", extra=f"[protocol]\n{line}\n")
    with pytest.raises(ConfigError, match=rf"^protocol\.{key}: "):
        config_module.load(path)


def test_segnatura_states_the_registers_own_date_without_a_made_up_time(services):
    make_process(services)(complaint_with_two_attachments())
    registration.run_due(services)  # the register answers 2026-03-02; today is 2026-03-11
    data = segnatura.export(services.settings, services.engine, services.store, CASE, "tester")
    ident = ET.fromstring(data).find("p:Intestazione/p:Identificatore", NS)
    assert ident is not None
    assert [child.text for child in ident][3:] == ["0000001", "2026-03-02"]  # no Ora…
    if XSD.is_file():  # …and valid without it (the schema's OraRegistrazione is optional)
        import xmlschema

        root = ET.fromstring(data)
        root.append(ET.fromstring(PLACEHOLDER_SIGNATURE))
        xmlschema.XMLSchema(str(XSD)).validate(ET.tostring(root, encoding="unicode"))


def test_a_number_recorded_by_hand_keeps_the_day_and_time_it_was_recorded(services):
    make_process(services)(complaint_with_two_attachments())
    operator_action(services, CASE, OPERATOR, "#protocollo 4711\n#nota")
    data = segnatura.export(services.settings, services.engine, services.store, CASE, "tester")
    ident = ET.fromstring(data).find("p:Intestazione/p:Identificatore", NS)
    assert ident is not None
    assert [child.text for child in ident][3:] == ["0004711", "2026-03-11", "10:00:00"]
