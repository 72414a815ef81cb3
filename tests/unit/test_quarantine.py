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
