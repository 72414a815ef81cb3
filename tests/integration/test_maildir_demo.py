"""The embedded default the README's first command runs: Maildir in, SQLite, no server."""

from __future__ import annotations

import email
import json
import mailbox
import re
import subprocess
from email.policy import default

import pytest

from support.app import REPO, TEST_DATABASE, fixture_bytes, run_cli, write_config

CITIZEN_2 = "giulia.esposito@example.org"  # samples/complaints/02-raccolta-rifiuti.eml


@pytest.mark.embedded
def test_demo_script_files_the_samples_and_writes_confirmations():
    # Runs in the repository itself: the demo only rewrites the git-ignored var/demo.
    result = subprocess.run(
        ["./scripts/demo"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "suggerimenti: 8 filed, 1 ignored, 1 rejected" in result.stdout
    assert "outbox: 16 sent, 0 deferred, 0 failed" in result.stdout  # confirmations + notifications
    assert "added 3, updated 0, unchanged 0, rejected 0" in result.stdout
    sent = sorted((REPO / "var" / "demo" / "sent").glob("*.eml"))
    assert len(sent) == 20
    messages = [email.message_from_bytes(p.read_bytes(), policy=default) for p in sent]
    subjects = [m["Subject"].strip() for m in messages]
    assert all(subject.startswith("[Pratica ") for subject in subjects)
    assert sum("Nuova pratica:" in subject for subject in subjects) == 8

    # The operator's reply from a mail client reached the citizen from the institutional
    # address, without the quoted notification or the operator's signature, and closed the case.
    assert "suggerimenti: 1 threaded" in result.stdout
    [relay] = [
        m
        for m in messages
        if "civico 12 di via Verdi è stata chiusa" in m.get_body(("plain",)).get_content()
    ]
    text = relay.get_body(("plain",)).get_content()
    assert relay["To"].addresses[0].addr_spec == "mario.bianchi@example.net"
    assert relay["From"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
    assert "è stata chiusa questa mattina" in text
    assert "ha scritto:" not in text and "> Nuova pratica" not in text and "#chiudi" not in text
    closed = json.loads(
        run_cli("--config", "samples/demo.toml", "workorders", "list", "--json").stdout
    )
    assert [c["status"] for c in closed][:2] == ["closed", "open"]

    # A colleague of another office answered case 2's notification: an internal note to the
    # office and a notice to him, nothing to the citizen (staff mail is never the citizen's).
    note = [m for m in messages if "Nota interna di Luca Verdi" in m["Subject"]]
    assert [m["To"].addresses[0].addr_spec for m in note] == ["urp@comune.example.it"]
    told = [m for m in messages if "Messaggio non inviato al cittadino" in m["Subject"]]
    assert [m["To"].addresses[0].addr_spec for m in told] == ["luca.verdi@comune.example.it"]
    to_citizen = [m for m in messages if m["To"].addresses[0].addr_spec == CITIZEN_2]
    assert len(to_citizen) == 1  # the confirmation only
    assert all("giro straordinario" not in m.as_string() for m in to_citizen)
    assert re.search(r"^supervisor +sees every case", result.stdout, re.MULTILINE)  # staff roles

    # The back office: the office's notification links to the case's page, and the demo prints
    # a one-time sign-in link for the Dirigente (`mailbot backoffice link`).
    assert re.search(
        r"^   Scheda: +http://127\.0\.0\.1:8026/pratiche/\d{4}-000001$", result.stdout, re.MULTILINE
    )
    notifications = [m for m in messages if "Nuova pratica:" in m["Subject"]]
    assert all(
        "http://127.0.0.1:8026/pratiche/" in m.get_body(("plain",)).get_content()
        for m in notifications
    )
    assert re.search(r"^http://127\.0\.0\.1:\d+/accesso/[\w.~-]{20,}$", result.stdout, re.MULTILINE)


def test_maildir_messages_move_to_cur_and_are_not_processed_twice(tmp_path):
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    for name in ("citizen_plain.eml", "citizen_html_only.eml", "malformed_no_from.eml"):
        box.add(mailbox.MaildirMessage(fixture_bytes(name)))
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    first = run_cli("--config", str(config), "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "suggerimenti: 2 filed, 1 rejected" in first.stdout
    assert list((tmp_path / "maildir" / "new").iterdir()) == []
    assert len(list((tmp_path / "maildir" / "cur").iterdir())) == 3
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 4
    if TEST_DATABASE == "sqlite":  # the run closed its connections before its quick exit
        wal = tmp_path / "mailbot.db-wal"  # so SQLite folded its log into the file
        assert not wal.exists() or wal.stat().st_size == 0

    # A crash between commit and move leaves a processed message in new/: seen, skipped.
    for path in (tmp_path / "maildir" / "cur").iterdir():
        path.rename(tmp_path / "maildir" / "new" / path.name.split(":")[0])
    again = run_cli("--config", str(config), "run", "--once")
    assert "suggerimenti: 3 duplicate" in again.stdout
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 4
    listed = json.loads(run_cli("--config", str(config), "workorders", "list", "--json").stdout)
    assert len(listed) == 2


def test_missing_maildir_is_reported_not_crashed(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 75
    assert "is not a Maildir" in result.stderr
    assert "Traceback" not in result.stderr
