"""Quarantine and the inbound ledger from the command line: list, show, retry, discard."""

from __future__ import annotations

import json

import pytest

from mailbot.ingest import parse
from mailbot.types import LedgerStatus

from support.app import cli_bytes, fixture_bytes, run_cli


@pytest.fixture
def config(services):
    return services.settings.source_path


def mb(config, *args):
    return run_cli("--config", str(config), *args)


def quarantine_one(process, monkeypatch):
    def broken(raw):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(parse, "parse", broken)
    outcome = process("citizen_plain.eml")
    monkeypatch.undo()
    assert outcome.status == LedgerStatus.QUARANTINED
    return outcome.inbound_id


def test_quarantine_list_show_and_retry(config, process, monkeypatch):
    inbound_id = quarantine_one(process, monkeypatch)
    process("malformed_no_from.eml")
    listed = json.loads(mb(config, "quarantine", "list", "--json").stdout)
    assert {row["status"] for row in listed} == {"quarantined", "rejected"}
    [row] = [r for r in listed if r["status"] == "quarantined"]
    assert set(row) == {"id", "mailbox", "uid", "message_id", "reason", "received_at", "status"}
    assert row == {
        "id": inbound_id,
        "mailbox": "suggerimenti",
        "uid": row["uid"],
        "message_id": "<citizen-plain-0001@mail.example.net>",
        "reason": "RuntimeError: parser bug",
        "received_at": "2026-03-02T10:00:00+01:00",
        "status": "quarantined",
    }
    shown = mb(config, "quarantine", "show", str(inbound_id))
    assert "reason: RuntimeError: parser bug" in shown.stdout and "Traceback" in shown.stdout
    raw = cli_bytes("--config", str(config), "quarantine", "show", str(inbound_id), "--raw")
    assert raw == fixture_bytes("citizen_plain.eml")

    retried = mb(config, "quarantine", "retry", str(inbound_id))
    assert retried.returncode == 0, retried.stderr
    assert f"{inbound_id}: filed (2026/000001)" in retried.stdout
    remaining = json.loads(mb(config, "quarantine", "list", "--json").stdout)
    assert [r["status"] for r in remaining] == ["rejected"]
    again = mb(config, "quarantine", "retry", str(inbound_id))
    assert again.returncode == 1 and "no quarantined or rejected message" in again.stderr


def test_discard_keeps_the_original(config, process, services):
    rejected = process("malformed_no_from.eml").inbound_id
    done = mb(config, "quarantine", "discard", str(rejected))
    assert done.returncode == 0 and "discarded (original kept)" in done.stdout
    assert json.loads(mb(config, "quarantine", "list", "--json").stdout) == []
    original = cli_bytes("--config", str(config), "quarantine", "show", str(rejected), "--raw")
    assert original == fixture_bytes("malformed_no_from.eml")


def test_inbound_list_tells_what_became_of_each_mail(config, process):
    process("citizen_plain.eml")
    process("autoreply_fuori_sede.eml")
    process("malformed_no_from.eml")
    rows = json.loads(mb(config, "inbound", "list", "--json").stdout)
    assert [r["status"] for r in rows] == ["rejected", "ignored", "filed"]  # newest first
    filed = rows[-1]
    assert set(filed) == {
        "id",
        "mailbox",
        "uid",
        "message_id",
        "from",
        "subject",
        "received_at",
        "status",
        "reason",
        "case",
    }
    assert filed["from"] == "Mario Bianchi <Mario.Bianchi@Example.NET>"
    assert filed["subject"] == "Buca pericolosa in via Verdi"
    assert filed["case"] == "2026/000001"
    only = json.loads(mb(config, "inbound", "list", "--json", "--status", "ignored").stdout)
    assert [r["subject"] for r in only] == ["Risposta automatica: Fuori sede"]
    assert "Auto-Submitted" in only[0]["reason"]


def test_inbound_list_shows_why_each_mail_was_not_filed_with_addresses_masked(config, process):
    filed = process("citizen_plain.eml")
    process("autoreply_fuori_sede.eml")
    rejected = process("malformed_no_from.eml")
    rows = json.loads(mb(config, "inbound", "list", "--json").stdout)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert rows[0]["id"] == rejected.inbound_id and rows[-1]["id"] == filed.inbound_id
    assert rows[0]["reason"] and rows[-1]["reason"] is None
    table = mb(config, "inbound", "list").stdout.splitlines()
    header = table[0].split()
    assert header[0] == "ID" and "REASON" in header
    [ignored] = [line for line in table if "ignored" in line]
    assert "Auto-Submitted" in ignored
    assert ignored.split()[0] == str(rows[1]["id"])


def test_a_reason_quoting_an_address_is_masked_in_inbound_list(config, services, process):
    from sqlmodel import Session

    from mailbot.models import InboundMessage

    outcome = process("autoreply_fuori_sede.eml")
    with Session(services.engine) as session:
        entry = session.get(InboundMessage, outcome.inbound_id)
        entry.reason = "loop: mail from mario.rossi@example.net, RSSMRA80A01H501U"
        session.add(entry)
        session.commit()
    [row] = json.loads(mb(config, "inbound", "list", "--json").stdout)
    assert row["reason"] == "loop: mail from m***@example.net, RSS**********01U"
    assert "mario.rossi@" not in mb(config, "inbound", "list").stdout


def test_show_of_a_filed_message_tells_its_outcome_not_none(config, process):
    filed = process("citizen_plain.eml")
    ignored = process("autoreply_fuori_sede.eml")
    shown = mb(config, "quarantine", "show", str(filed.inbound_id))
    assert shown.returncode == 0, shown.stderr
    assert "outcome: filed as case 2026/000001" in shown.stdout
    assert "None" not in shown.stdout
    other = mb(config, "quarantine", "show", str(ignored.inbound_id)).stdout
    assert "outcome: ignored: " in other and "Auto-Submitted" in other
    assert "None" not in other


def test_show_of_a_message_without_message_id_or_subject_prints_no_none(config, process):
    raw = (
        b"From: Anna Verdi <anna.verdi@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
        b"\r\nLampione spento in via Roma.\r\n"
    )
    filed = process(raw)
    shown = mb(config, "quarantine", "show", str(filed.inbound_id))
    assert shown.returncode == 0, shown.stderr
    assert "None" not in shown.stdout
    assert "message-id: (none)" in shown.stdout and "subject: (none)" in shown.stdout
