"""A registration in the protocol register that keeps failing is told to the case's office, once
(issue 33, item 6): after `alert_after_attempts` failed attempts or `alert_after_hours` of
waiting, a notice like the one for mail that could not be delivered; the registration goes on
being retried, and one that succeeded is never reported."""

from __future__ import annotations

import email
import json
import mailbox
from datetime import timedelta
from email import policy

import pytest
from sqlmodel import select

from mailbot import db
from mailbot.cases import protocol_alerts, registration
from mailbot.models import Event, OutboundMessage, utcnow
from unit.test_logging import run_once
from unit.test_protocol_adapter import adapter_config
from unit.test_protocol_confirmation import text_of
from unit.test_segnatura import complaint_with_two_attachments

from support.app import make_process, make_services, run_cli, write_config

CASE = "2026/000001"
OFFICE = "urp@comune.example.it"
ERROR = "exit status 2: registro non disponibile (manutenzione)"


def make(tmp_path, state, attempts=3, hours=0, transport="smtp"):
    mailbox.Maildir(tmp_path / "maildir", create=True)
    extra = adapter_config(state) + (
        f"alert_after_attempts = {attempts}\nalert_after_hours = {hours}\n"
    )
    return write_config(tmp_path / "mailbot.toml", transport=transport, extra=extra)


@pytest.fixture
def state(tmp_path):
    (tmp_path / "register").mkdir()
    return tmp_path / "register"


@pytest.fixture
def failing(tmp_path, state):
    (state / "mode").write_text("fail")
    services = make_services(make(tmp_path, state))
    make_process(services)(complaint_with_two_attachments())
    yield services
    services.engine.dispose()


def notices(services):
    with db.read_only(services.engine) as session:
        return session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "notice")
            .order_by(OutboundMessage.id)
        ).all()


def test_after_the_attempts_the_office_is_told_once(failing):
    later = utcnow()
    for attempt in (1, 2):
        later += timedelta(hours=7)  # past any backoff
        assert registration.run_due(failing, later).failed
        assert protocol_alerts.report_stuck(failing, later) == [], attempt
    later += timedelta(hours=7)
    assert registration.run_due(failing, later).failed  # the third failed attempt
    assert protocol_alerts.report_stuck(failing, later) == [CASE]
    [notice] = notices(failing)
    assert notice.recipients == OFFICE
    text = text_of(notice.raw)
    assert f"La pratica n. {CASE} non è ancora registrata nel protocollo" in text
    assert "dopo 3 tentativi" in text and f"Ultimo errore:  {ERROR}" in text
    assert f"mailbot protocol retry {CASE}" in text
    # Once: a fourth failure, or another pass, tells nobody again.
    later += timedelta(hours=7)
    assert registration.run_due(failing, later).failed
    assert protocol_alerts.report_stuck(failing, later) == []
    assert len(notices(failing)) == 1
    with db.read_only(failing.engine) as session:
        [event] = session.exec(
            select(Event).where(Event.kind == "work_order.protocol_alerted")
        ).all()
        [waiting] = registration.pending(session)
    assert json.loads(event.data) == {"attempts": "3"}
    assert waiting["office_told_at"] is not None and waiting["attempts"] == 4


def test_a_registration_waiting_too_long_is_told_even_without_many_attempts(tmp_path, state):
    services = make_services(make(tmp_path, state, attempts=0, hours=24))
    make_process(services)(complaint_with_two_attachments())
    assert protocol_alerts.report_stuck(services, utcnow() + timedelta(hours=23)) == []
    assert protocol_alerts.report_stuck(services, utcnow() + timedelta(hours=25)) == [CASE]
    text = text_of(notices(services)[0].raw)
    assert "tentativi" not in text and "Ultimo errore" not in text  # none to speak of
    assert "In attesa dal: 11 marzo 2026, 10:00" in text
    services.engine.dispose()


def test_a_registered_case_or_both_triggers_off_tells_nobody(tmp_path, state):
    services = make_services(make(tmp_path, state, attempts=1, hours=1))
    make_process(services)(complaint_with_two_attachments())
    assert registration.run_due(services).registered == [CASE]
    assert protocol_alerts.report_stuck(services, utcnow() + timedelta(days=30)) == []
    services.engine.dispose()
    (state / "mode").write_text("fail")
    other = tmp_path / "off"
    other.mkdir()
    services = make_services(make(other, state, attempts=0, hours=0))
    make_process(services)(complaint_with_two_attachments())
    registration.run_due(services)
    assert protocol_alerts.report_stuck(services, utcnow() + timedelta(days=30)) == []
    assert notices(services) == []
    services.engine.dispose()


def test_run_once_mails_the_alert_to_the_office(tmp_path, state):
    config = make(tmp_path, state, attempts=1, transport="directory")
    mailbox.Maildir(tmp_path / "maildir").add(complaint_with_two_attachments())
    (state / "mode").write_text("fail")
    done = run_once(config)
    assert done.returncode == 0, done.stderr
    assert "office told: protocol registration keeps failing" in done.stderr
    sent = [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted((tmp_path / "sent").glob("*.eml"))
    ]
    [alert] = [m for m in sent if "Protocollazione non riuscita" in str(m["Subject"])]
    assert alert["To"].addresses[0].addr_spec == OFFICE
    pending = run_cli("--config", str(config), "protocol", "pending")
    assert "office told" in pending.stdout
