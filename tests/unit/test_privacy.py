"""Personal data: `mailbot purge` past retention keeps the figures and removes the person;
`mailbot contact export` hands a person everything held about them. Both leave audit events."""

from __future__ import annotations

import json
import mailbox
import os
import pty
import stat
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    InboundMessage,
    OutboundMessage,
    StoredAttachment,
    WorkOrder,
    utcnow,
)

from support import clock
from support.app import (
    REPO,
    complaint,
    fixture_bytes,
    make_services,
    rows,
    run_cli,
    write_config,
)

OPERATOR = "mario.rossi@comune.example.it"


def mb(config, *args):
    return run_cli("--config", str(config), *args)


@pytest.fixture
def office(tmp_path):
    """Three cases: 1 (with attachments) closed six years ago, 2 closed today, 3 open."""
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(fixture_bytes("citizen_with_attachment.eml"))
    box.add(complaint(2))
    box.add(complaint(3))
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert mb(config, "run", "--once").returncode == 0
    for number in ("2026/000001", "2026/000002"):
        done = mb(config, "workorders", "close", number, "--operator", OPERATOR)
        assert done.returncode == 0, done.stderr
    services = make_services(config)
    with Session(services.engine) as session:
        old = session.exec(select(WorkOrder).where(WorkOrder.number == "2026/000001")).one()
        old.closed_at = utcnow() - timedelta(days=6 * 365)
        session.add(old)
        session.commit()
    return config, services


def case(services, number):
    return next(w for w in rows(services, WorkOrder) if w.number == number)


def store_path(services, digest):
    return services.store.path(digest)


def test_purge_dry_run_changes_nothing(office):
    config, services = office
    before = {w.number: w.subject for w in rows(services, WorkOrder)}
    events = len(rows(services, Event))
    done = mb(config, "purge", "--older-than", "5y", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cases"] == ["2026/000001"]
    assert report["dry_run"] is True
    assert report["messages"] >= 1
    assert {w.number: w.subject for w in rows(services, WorkOrder)} == before
    assert len(rows(services, Event)) == events
    assert all(store_path(services, i.raw_sha256).exists() for i in rows(services, InboundMessage))


def test_purge_removes_the_person_and_keeps_the_figures(office):
    config, services = office
    register_before = mb(config, "report", "register", "--year", "2026").stdout
    old = case(services, "2026/000001")
    inbound = [i for i in rows(services, InboundMessage) if i.work_order_id == old.id]
    attachments = rows(services, StoredAttachment)
    digests = [i.raw_sha256 for i in inbound] + [a.sha256 for a in attachments]
    assert attachments and all(store_path(services, d).exists() for d in digests)

    done = mb(config, "purge", "--older-than", "5y", "--yes", "--by", "dpo@comune.example.it")
    assert done.returncode == 0, done.stderr
    assert "cases closed before" in done.stdout and "1 purged" in done.stdout

    old = case(services, "2026/000001")
    assert old.purged_at is not None
    assert old.subject == "" and old.taxpayer_id is None
    # Figures stay: number, office, dates, deadline, status, category, term.
    assert (old.status, old.office) == ("closed", "urp")
    assert old.received_at and old.due_at and old.closed_at
    # The person goes: texts, originals, attachments, sent bytes, contact.
    messages = [m for m in rows(services, ConversationMessage) if m.work_order_id == old.id]
    assert messages
    assert all(m.body_text == m.subject == m.from_address == m.to_addresses == "" for m in messages)
    assert rows(services, StoredAttachment) == []
    assert not any(store_path(services, d).exists() for d in digests)
    entries = [i for i in rows(services, InboundMessage) if i.work_order_id == old.id]
    assert all(i.raw_sha256 == "" and i.sender == "" for i in entries)
    assert all(i.message_key for i in entries)  # a late re-delivery is still known as seen
    sent = [o for o in rows(services, OutboundMessage) if o.work_order_id == old.id]
    assert sent and all(o.raw == b"" and o.recipients == "" for o in sent)
    contacts = {c.id: c for c in rows(services, Contact)}
    assert contacts[old.contact_id].email.endswith("@purged.invalid")
    assert contacts[old.contact_id].name == ""
    assert not any("anna.romano" in c.email for c in contacts.values())
    # Untouched: the case closed today and the open one.
    for number in ("2026/000002", "2026/000003"):
        kept = case(services, number)
        assert kept.purged_at is None and kept.subject.startswith("Reclamo")
    # The register still counts case 1, without naming anyone.
    register_after = mb(config, "report", "register", "--year", "2026").stdout
    assert register_after.count("\n") == register_before.count("\n")
    assert "Anna Romano" in register_before and "Anna Romano" not in register_after
    assert "(dati rimossi)" in register_after
    # Audit: one event per case and one for the run, with who did it.
    kinds = [(e.kind, e.actor, e.work_order_id) for e in rows(services, Event)]
    assert ("case.purged", "dpo@comune.example.it", old.id) in kinds
    assert any(k == "purge.run" and a == "dpo@comune.example.it" for k, a, _ in kinds)
    for event in rows(services, Event):
        if event.work_order_id == old.id:
            assert "anna" not in event.data.lower()
    # Idempotent: nothing left to purge.
    again = json.loads(mb(config, "purge", "--older-than", "5y", "--yes", "--json").stdout)
    assert again["cases"] == []
    # The case file of a purged case still exports (figures only).
    assert mb(config, "workorders", "show", "2026/000001", "--json").returncode == 0


def test_retention_from_config_and_bad_ages(office):
    config, _ = office
    text = config.read_text().replace("[database]", '[retention]\ncases = "10y"\n[database]')
    config.write_text(text)
    report = json.loads(mb(config, "purge", "--dry-run", "--json").stdout)
    assert report["cases"] == []  # six years is within ten
    bad = mb(config, "purge", "--older-than", "five years", "--yes")
    assert bad.returncode == 2
    assert "--older-than: expected an age like 5y or 400d, got 'five years'" in bad.stderr
    assert "Traceback" not in bad.stderr
    config.write_text(text.replace('cases = "10y"', 'cases = "0d"'))
    wrong = mb(config, "purge", "--dry-run")
    assert wrong.returncode == 2
    assert "retention.cases: expected an age like 5y or 400d, got '0d'" in wrong.stderr


def test_contact_export_by_address(office, tmp_path):
    config, services = office
    out = tmp_path / "access.zip"
    done = mb(
        config, "contact", "export", "Cittadino2@Example.net", "--out", str(out), "--by", "urp"
    )
    assert done.returncode == 0, done.stderr
    assert "1 contact(s), 1 case(s)" in done.stdout
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("data.json"))
        assert "cases/2026-000002/case.html" in names
        originals = [n for n in names if n.endswith(".eml")]
        assert any(b"Reclamo numero 2." in archive.read(n) for n in originals)
    assert data["contacts"][0]["email"] == "cittadino2@example.net"
    (exported,) = data["cases"]
    assert exported["number"] == "2026/000002"
    assert any("Reclamo numero 2." in m["text"] for m in exported["messages"])
    assert {s["kind"] for s in exported["sent"]} >= {"confirmation"}
    assert any(e["kind"].endswith("closed") for e in exported["events"])
    events = [(e.kind, e.actor) for e in rows(services, Event)]
    assert ("contact.exported", "urp") in events
    assert ("work_order.exported", "urp") in events


def test_contact_export_by_codice_fiscale(office, tmp_path):
    config, _ = office
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "codice_fiscale,name,email,pec,postal_address\n"
        "RSSMRA80A01H501U,Mario Rossi,cittadino3@example.net,,Via Roma 1\n",
        encoding="utf-8",
    )
    assert mb(config, "registry", "import", str(registry)).returncode == 0
    out = tmp_path / "cf.zip"
    done = mb(config, "contact", "export", "rssmra80a01h501u", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["taxpayer"]["codice_fiscale"] == "RSSMRA80A01H501U"
    assert data["taxpayer"]["name"] == "Mario Rossi"
    assert {"address": "cittadino3@example.net", "kind": "email"} in data["taxpayer"]["addresses"]


def test_contact_export_of_nobody_or_a_purged_person_is_a_clear_error(office, tmp_path):
    config, _ = office
    nobody = mb(config, "contact", "export", "nessuno@example.net", "--out", str(tmp_path / "x"))
    assert nobody.returncode != 0
    assert "nothing is held about 'nessuno@example.net'" in nobody.stderr
    assert "Traceback" not in nobody.stderr
    assert mb(config, "purge", "--older-than", "5y", "--yes").returncode == 0
    gone = mb(config, "contact", "export", "anna.romano@example.net", "--out", str(tmp_path / "y"))
    assert gone.returncode != 0 and "nothing is held" in gone.stderr
    assert not (tmp_path / "y").exists()


def test_an_access_request_by_codice_returns_only_the_persons_own_cases(tmp_path):
    """A stranger typing someone's codice fiscale in a complaint makes a claim: the person's
    export lists it apart, without the stranger's text or original."""
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "codice_fiscale,name,email,pec,postal_address\n"
        "RSSMRA80A01H501U,Mario Rossi,mario.rossi80@example.net,,Via Roma 1\n",
        encoding="utf-8",
    )
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(
        b"From: Mario Rossi <mario.rossi80@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
        b"Subject: Mio reclamo\r\nMessage-ID: <own@example.net>\r\n\r\nIl mio reclamo.\r\n"
    )
    box.add(
        b"From: Estraneo <estraneo@example.org>\r\nTo: suggerimenti@comune.example.it\r\n"
        b"Subject: Vicino\r\nMessage-ID: <claim@example.org>\r\n\r\n"
        b"Il mio vicino RSSMRA80A01H501U fa rumore. SEGRETO DELLO SCRIVENTE\r\n"
    )
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert mb(config, "db", "upgrade").returncode == 0
    assert mb(config, "registry", "import", str(registry)).returncode == 0
    assert mb(config, "run", "--once").returncode == 0
    out = tmp_path / "cf.zip"
    done = mb(config, "contact", "export", "RSSMRA80A01H501U", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 case(s)" in done.stdout and "1 unconfirmed claim(s)" in done.stdout
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("data.json"))
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert [c["subject"] for c in data["cases"]] == ["Mio reclamo"]
    assert [c["match_state"] for c in data["unconfirmed_claims"]] == ["to_confirm"]
    assert b"SEGRETO DELLO SCRIVENTE" not in everything
    assert b"estraneo@example.org" not in everything


def mb_with(config, stdin, *args):
    """The CLI with this stdin (a terminal, or none), whatever the test runner's own is."""
    return subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, **clock.subprocess_env()},
    )


def on_a_terminal(config, answer, *args):
    """The CLI with a terminal as stdin, answering its question with `answer`."""
    primary, secondary = pty.openpty()
    try:
        os.write(primary, answer.encode())
        return mb_with(config, secondary, *args)
    finally:
        os.close(secondary)
        os.close(primary)


def test_purge_without_a_terminal_or_yes_refuses_and_changes_nothing(office):
    config, services = office
    refused = mb_with(config, subprocess.DEVNULL, "purge", "--older-than", "5y")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr and "not on a terminal" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert case(services, "2026/000001").purged_at is None


def test_purge_on_a_terminal_asks_first_and_a_no_changes_nothing(office):
    config, services = office
    declined = on_a_terminal(config, "n\n", "purge", "--older-than", "5y")
    assert declined.returncode == 1
    assert "1 case(s) closed before" in declined.stderr and "2026/000001" in declined.stderr
    assert "nothing purged" in declined.stderr
    assert case(services, "2026/000001").purged_at is None
    accepted = on_a_terminal(config, "y\n", "purge", "--older-than", "5y")
    assert accepted.returncode == 0, accepted.stderr
    assert "1 purged" in accepted.stdout
    assert case(services, "2026/000001").purged_at is not None
