"""The protocol register's command adapter (issue 33, item 6 a/b), with a register of the test
suite's own (tests/support/fake_register.py) that assigns numbers: a filed case waits for its
registration, which a separate pass runs and records as `#protocollo` does; a program that fails,
hangs or answers nonsense never loses or blocks a case: the error is on the case, the attempt
is retried later and succeeds; metadata.json and the documents are the stored originals."""

from __future__ import annotations

import hashlib
import json
import mailbox
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import ANY

import pytest
from sqlmodel import select

from mailbot import config as config_module
from mailbot import db
from mailbot.cases import registration, views
from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError
from mailbot.models import (
    Event,
    InboundMessage,
    OutboundMessage,
    ProtocolRegistration,
    StoredAttachment,
    WorkOrder,
    utcnow,
)
from mailbot.protocol import documents
from unit.test_logging import run_once
from unit.test_segnatura import (
    JPEG,
    OPERATOR,
    PDF,
    PROTOCOL,
    complaint_with_two_attachments,
)

from support.app import REPO, make_process, make_services, run_cli, write_config

REGISTER = REPO / "tests" / "support" / "fake_register.py"


def adapter_config(state: Path, timeout: int = 20) -> str:
    command = json.dumps([sys.executable, str(REGISTER), "--state", str(state)])
    return f'{PROTOCOL}adapter = "command"\ncommand = {command}\ntimeout_seconds = {timeout}\n'


@pytest.fixture
def state(tmp_path):
    (tmp_path / "register").mkdir()
    return tmp_path / "register"


@pytest.fixture
def config_path(tmp_path, state):
    (tmp_path / "maildir").mkdir()
    return write_config(tmp_path / "mailbot.toml", extra=adapter_config(state))


@pytest.fixture
def services(config_path):
    svc = make_services(config_path)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def case(services):
    outcome = make_process(services)(complaint_with_two_attachments())
    assert outcome.status == "filed"
    with db.read_only(services.engine) as session:
        [wo] = session.exec(select(WorkOrder)).all()
    return wo.number


def rows(services):
    with db.read_only(services.engine) as session:
        return session.exec(select(ProtocolRegistration)).all()


def shown(services, number):
    with db.read_only(services.engine) as session:
        return views.show_work_order(session, number, services.settings.timezone)


def events(services, kind):
    with db.read_only(services.engine) as session:
        return session.exec(select(Event).where(Event.kind == kind).order_by(Event.id)).all()


def test_a_filed_case_waits_then_the_pass_records_the_number_as_protocollo_does(services, case):
    [row] = rows(services)
    assert (row.status, row.kind, row.attempts) == ("pending", "incoming", 0)
    assert shown(services, case)["charter"]["protocollo_pending"] == {
        "attempts": 0,
        "last_error": None,
    }
    report = registration.run_due(services)
    assert report.registered == [case] and not report.failed
    detail = shown(services, case)
    assert detail["charter"]["protocollo"] == ["0000001"]
    assert detail["charter"]["protocollo_pending"] is None
    [event] = events(services, "work_order.protocollo")
    assert json.loads(event.data) == {"number": "0000001"} and event.actor == "protocol"
    [row] = rows(services)
    assert (row.status, row.numero, row.data, row.attempts) == ("done", "0000001", "2026-03-02", 1)
    with db.read_only(services.engine) as session:  # Segnatura.xml sees the number
        facts = documents.gather(session, services.store, case, services.settings.timezone)
    assert facts.protocol_number == "0000001"
    assert registration.run_due(services).registered == []  # registered once


def test_a_failing_register_leaves_the_case_filed_shows_the_error_and_is_retried(
    services, case, state
):
    (state / "mode").write_text("fail")
    report = registration.run_due(services)
    assert report.failed == {case: "exit status 2: registro non disponibile (manutenzione)"}
    detail = shown(services, case)
    assert detail["status"] == "open" and detail["charter"]["protocollo"] == []
    assert detail["charter"]["protocollo_pending"] == {
        "attempts": 1,
        "last_error": "exit status 2: registro non disponibile (manutenzione)",
    }
    [failed] = events(services, "work_order.protocol_failed")
    assert json.loads(failed.data)["attempt"] == "1"
    # Not due again at once (backoff), and a second failure waits longer.
    assert registration.run_due(services).failed == {}
    assert registration.run_due(services, utcnow() + timedelta(minutes=2)).failed
    [row] = rows(services)
    assert row.next_attempt_at - utcnow() > timedelta(minutes=1, seconds=50)
    (state / "mode").unlink()
    report = registration.run_due(services, utcnow() + timedelta(minutes=5))
    assert report.registered == [case]
    assert shown(services, case)["charter"]["protocollo"] == ["0000001"]
    [row] = rows(services)
    assert (row.status, row.attempts, row.last_error) == ("done", 3, "")


def test_a_hanging_register_is_stopped_and_the_next_mail_is_still_filed(tmp_path, state):
    (tmp_path / "maildir").mkdir()
    services = make_services(
        write_config(tmp_path / "mailbot.toml", extra=adapter_config(state, timeout=1))
    )
    process = make_process(services)
    process(complaint_with_two_attachments())
    (state / "mode").write_text("hang")
    started = time.monotonic()
    report = registration.run_due(services)
    assert time.monotonic() - started < 10
    assert list(report.failed.values()) == ["no answer within 1 s (stopped)"]
    assert process(complaint_with_two_attachments().replace(b"buca-via", b"altra")).status == (
        "filed"
    )
    assert [r.status for r in rows(services)] == ["pending", "pending"]
    services.engine.dispose()


def test_an_answer_that_is_not_json_is_an_error_on_the_case(services, case, state):
    (state / "mode").write_text("garbage")
    report = registration.run_due(services)
    assert report.failed == {case: "the answer is not JSON: '<html>502 Bad Gateway</html>'"}
    assert shown(services, case)["charter"]["protocollo"] == []


def test_metadata_and_documents_are_the_stored_originals(services, case, state):
    registration.run_due(services)
    seen = state / "seen-1"
    metadata = json.loads((seen / "metadata.json").read_text())
    with db.read_only(services.engine) as session:
        inbound = session.exec(select(InboundMessage)).one()
        stored = session.exec(select(StoredAttachment).order_by(StoredAttachment.id)).all()
    raw = services.store.get(inbound.raw_sha256)
    expected = [
        (f"{case.replace('/', '-')}.eml", "original", hashlib.sha256(raw).hexdigest()),
        ("verbale.pdf", "attachment", hashlib.sha256(PDF).hexdigest()),
        ("foto_buca.jpg", "attachment", hashlib.sha256(JPEG).hexdigest()),
    ]
    assert [(d["file"], d["role"], d["sha256"]) for d in metadata["documents"]] == expected
    assert [a.sha256 for a in stored] == [e[2] for e in expected[1:]]
    for name, _, digest in expected:  # the bytes given are those digested
        assert hashlib.sha256((seen / name).read_bytes()).hexdigest() == digest
    assert metadata["kind"] == "incoming"
    assert metadata["case_number"] == case
    assert metadata["received_date"] == "2026-03-02"
    assert metadata["sender"] == {"name": "Giulia Bianchi", "email": "giulia.bianchi@example.org"}
    assert metadata["subject"] == "Buca in via Roma davanti al civico 12"
    assert metadata["request_id"].startswith("mailbot-")
    assert set(metadata) == {
        "kind",
        "request_id",
        "case_number",
        "received_at",
        "received_date",
        "channel",
        "sender",
        "subject",
        "message_id",
        "documents",
    }  # fmt: skip  (no codice fiscale, phone or text of the message)


def test_the_manual_adapter_registers_nothing(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=PROTOCOL))
    make_process(services)(complaint_with_two_attachments())
    assert rows(services) == []
    assert registration.run_due(services).registered == []
    services.engine.dispose()


def test_a_damaged_original_is_an_error_and_the_case_stays(services, case, state):
    with db.read_only(services.engine) as session:
        inbound = session.exec(select(InboundMessage)).one()
    path = services.store.path(inbound.raw_sha256)
    path.chmod(0o644)
    path.write_bytes(b"not what was received")
    report = registration.run_due(services)
    assert "does not match its digest (damaged)" in report.failed[case]
    assert not (state / "counter").exists()  # the register was not given a wrong document
    assert shown(services, case)["status"] == "open"
    assert [r.status for r in rows(services)] == ["pending"]


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ('adapter = "soap"', "adapter"),
        ('adapter = "command"', "command"),
        ('adapter = "command"\ncommand = "/bin/true --x"', "command"),
        ('adapter = "command"\ncommand = ["true"]', "command"),
        ('adapter = "command"\ncommand = ["/nonexistent/protocolla"]', "command"),
        ("timeout_seconds = 0", "timeout_seconds"),
        ('timeout_seconds = "60"', "timeout_seconds"),
    ],
)
def test_a_bad_value_names_its_key(tmp_path, lines, key):
    path = write_config(tmp_path / "mailbot.toml", extra=f"[protocol]\n{lines}\n")
    with pytest.raises(ConfigError, match=rf"^protocol\.{key}: "):
        config_module.load(path)


def test_run_once_files_then_registers_and_the_cli_shows_the_state(tmp_path, state):
    config = write_config(
        tmp_path / "mailbot.toml", transport="directory", extra=adapter_config(state)
    )
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(complaint_with_two_attachments())
    (state / "mode").write_text("fail")
    done = run_once(config)
    assert done.returncode == 0, done.stderr
    assert "giulia.bianchi@example.org" not in done.stderr  # logs mask addresses
    assert "protocol registration failed" in done.stderr
    pending = run_cli("--config", str(config), "protocol", "pending", "--json")
    [waiting] = json.loads(pending.stdout)
    assert (waiting["state"], waiting["attempts"]) == ("failed", 1)
    number = waiting["number"]
    show = run_cli("--config", str(config), "workorders", "show", number, "--by", "t@x.it")
    assert "protocollo: in attesa (1: exit status 2: registro non disponibile" in show.stdout
    (state / "mode").unlink()
    retried = run_cli("--config", str(config), "protocol", "retry", number)
    assert retried.returncode == 0, retried.stderr
    assert f"{number}: registered" in retried.stdout
    show = run_cli("--config", str(config), "workorders", "show", number, "--by", "t@x.it")
    assert "protocollo: 0000001" in show.stdout
    assert (
        "No registration pending." in run_cli("--config", str(config), "protocol", "pending").stdout
    )


def test_the_reasoned_reply_is_registered_outgoing_in_the_same_file_after_the_incoming(
    services, case, state
):
    (state / "mode").write_text("fail")
    registration.run_due(services)  # the incoming one fails once
    operator_action(services, case, OPERATOR, "La buca è stata riparata ieri.\n#risposta")
    [_, outgoing] = rows(services)
    assert (outgoing.kind, outgoing.status) == ("outgoing", "pending")
    later = utcnow() + timedelta(minutes=5)
    assert registration.run_due(services, later).failed == {case: ANY}  # only the incoming
    assert not (state / "counter").exists()
    (state / "mode").unlink()
    assert registration.run_due(services, utcnow() + timedelta(minutes=30)).registered == [case]
    assert registration.run_due(services, utcnow() + timedelta(minutes=30)).registered == [case]
    assert shown(services, case)["charter"]["protocollo"] == ["0000001", "0000002"]
    metadata = json.loads((state / "seen-2" / "metadata.json").read_text())
    assert (metadata["kind"], metadata["incoming_numero"]) == ("outgoing", "0000001")
    assert metadata["recipient"]["email"] == "giulia.bianchi@example.org"
    with db.read_only(services.engine) as session:
        sent = session.exec(select(OutboundMessage).where(OutboundMessage.kind == "relay")).one()
    [reply] = metadata["documents"]
    assert reply["role"] == "reply" and reply["sha256"] == hashlib.sha256(sent.raw).hexdigest()
    assert (state / "seen-2" / reply["file"]).read_bytes() == sent.raw


def test_a_purged_case_drops_its_registrations_and_their_errors(services, case, state):
    from mailbot.admin.purge import purge

    (state / "mode").write_text("fail")
    registration.run_due(services)
    operator_action(services, case, OPERATOR, "#chiudi\nAbbiamo riparato la buca.")
    assert [r.last_error != "" for r in rows(services)] == [True, False]
    purge(services, datetime(2031, 1, 1, tzinfo=UTC), actor="dpo@comune.example.it")
    assert [(r.status, r.last_error) for r in rows(services)] == [("dropped", "")] * 2
    (state / "mode").unlink()
    assert registration.run_due(services, utcnow() + timedelta(days=1)).registered == []
    with db.read_only(services.engine) as session:
        assert registration.pending(session) == []
