"""End to end against a real Dovecot (IMAP) and a real SMTP server, through the real CLI:
citizen mail appended over IMAP becomes work orders and confirmations, exactly once, across
re-runs, crashes and bad messages."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest

from support.app import IMAP_PASSWORD, REPO, Daemon, database_url, fixture_bytes, run_cli
from support.killing import wait_for_claims_to_expire
from support.mail import citizen_mail

pytestmark = pytest.mark.integration

RECEIVED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REGISTERED = 10  # the first ten senders are in the registry


def registry_csv(path: Path) -> Path:
    from stdnum.it import codicefiscale

    lines = ["codice_fiscale,name,email,pec"]
    for i in range(REGISTERED):
        base = f"RSSMRA80A{i + 1:02d}H501"
        lines.append(
            f"{base}{codicefiscale.calc_check_digit(base)},Contribuente {i},cittadino{i}@example.net,"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def to_citizens(received):
    return [r for r in received if r.rcpt_tos != ["urp@comune.example.it"]]


def cli(config: Path, *args: str, **kwargs):
    return run_cli("--config", str(config), *args, **kwargs)


def test_fifty_citizen_emails_become_fifty_work_orders_and_confirmations_once(
    imap_config, dovecot, imap_user, smtp, tmp_path
):
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(i) for i in range(50)], when=RECEIVED)
    assert cli(imap_config, "db", "upgrade").returncode == 0
    imported = cli(imap_config, "registry", "import", str(registry_csv(tmp_path / "reg.csv")))
    assert "added 10" in imported.stdout, imported.stderr

    result = cli(imap_config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "suggerimenti: 50 filed" in result.stdout
    received = to_citizens(smtp.wait_for(100))
    assert len(received) == 50
    # 50 office notifications, and the office's daily digest once it is past its time (every
    # case here is overdue: received in March)
    subjects = [
        str(email.message_from_bytes(m.data, policy=default)["Subject"]) for m in smtp.received
    ]
    digests = sum(s.startswith("Pratiche in scadenza e scadute") for s in subjects)
    assert digests <= 1
    assert len(smtp.received) - len(received) == 50 + digests
    assert f"outbox: {100 + digests} sent, 0 deferred, 0 failed" in result.stdout
    listed = json.loads(cli(imap_config, "workorders", "list", "--json").stdout)
    assert [w["number"] for w in listed] == [f"2026/{n:06d}" for n in range(1, 51)]
    by_address = {w["contact"]["email"]: w for w in listed}

    for mail in received:
        msg = email.message_from_bytes(mail.data, policy=default)
        to = mail.rcpt_tos[0]
        i = int(to.removeprefix("cittadino").split("@")[0])
        wo = by_address[to]
        assert mail.mail_from == "suggerimenti@comune.example.it"
        assert msg["To"].addresses[0].addr_spec == to
        assert msg["From"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
        assert msg["From"].addresses[0].display_name == "Comune di Esempio - URP"
        assert (
            msg["Subject"]
            == f"[Pratica {wo['number']}] Segnalazione n. {i}: lampione spento in via {i}"
        )
        assert msg["In-Reply-To"].strip() == f"<segnalazione-{i}@example.net>"
        assert msg["Auto-Submitted"] == "auto-replied"
        text = msg.get_body(("plain",)).get_content()
        assert f"Pratica n. {wo['number']}" in text
        assert "Ricevuta il: 2 marzo 2026, 09:00" in text  # INTERNALDATE, shown in Europe/Rome
        assert "entro il 1 aprile 2026" in text  # received + 30 days
        assert "Ufficio Relazioni con il Pubblico" in text
        assert msg.get_body(("html",)) is not None
        # the work order mirrors the mail
        assert wo["status"] == "open" and wo["office"] == "urp"
        assert wo["opened_at"] and wo["due_at"] == "2026-04-01T23:59:59+02:00"
        assert wo["message_count"] == 3
        registered = i < REGISTERED
        assert wo["contact"]["generic"] is (not registered)
        assert (wo["contact"]["codice_fiscale"] is not None) is registered

    detail = json.loads(
        cli(
            imap_config,
            "workorders",
            "show",
            by_address["cittadino10@example.net"]["number"],
            "--json",
        ).stdout
    )
    assert detail["messages"][0]["attachments"] == [{"filename": "foto10.pdf", "size": 1400}]
    assert detail["messages"][0]["date"] == "2026-03-02T09:00:00+01:00"

    again = cli(imap_config, "run", "--once")
    assert again.returncode == 0
    assert "suggerimenti: no new mail" in again.stdout
    assert "outbox: 0 sent" in again.stdout
    assert len(smtp.received) == 100 + digests
    assert len(json.loads(cli(imap_config, "workorders", "list", "--json").stdout)) == 50


CRASH_POINTS = [
    "parse:3:before",  # ledger row written, nothing else
    "open-work-order:3:after",  # work order flushed, not committed
    "queue-outbound:5:after",  # confirmation queued, not committed
    "smtp-send:2:before",  # sender claimed rows, sent one
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_between_stages_loses_nothing_and_duplicates_nothing(
    imap_config, dovecot, imap_user, smtp, point
):
    imap_config.write_text(
        imap_config.read_text().replace("[outbox]", "[outbox]\nlease_seconds = 1")
    )
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(i) for i in range(8)], when=RECEIVED)
    crashed = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "support" / "crash_launcher.py"),
            "--config",
            str(imap_config),
            "run",
            "--once",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD, "MAILBOT_TEST_CRASH_AT": point},
    )
    assert crashed.returncode == 137, crashed.stderr
    wait_for_claims_to_expire(database_url(imap_config.parent))  # the dead sender's, 1 s
    result = cli(imap_config, "run", "--once")
    assert result.returncode == 0, result.stderr

    listed = json.loads(cli(imap_config, "workorders", "list", "--json").stdout)
    assert sorted(w["contact"]["email"] for w in listed) == sorted(
        f"cittadino{i}@example.net" for i in range(8)
    )
    assert [w["number"] for w in listed] == [f"2026/{n:06d}" for n in range(1, 9)]  # no gaps
    recipients = sorted(r.rcpt_tos[0] for r in to_citizens(smtp.wait_for(16)))
    assert recipients == sorted(f"cittadino{i}@example.net" for i in range(8))


def test_bad_messages_are_kept_with_a_reason_and_do_not_stop_the_next(
    imap_config, dovecot, imap_user, smtp
):
    messages = [
        citizen_mail(1),
        fixture_bytes("malformed_no_from.eml"),
        fixture_bytes("autoreply_fuori_sede.eml"),
        fixture_bytes("malformed_broken_mime.eml"),
        b"\xff\xfe garbage that is no email at all \r\n\r\n\x01",
        citizen_mail(2),
    ]
    dovecot.append(imap_user, IMAP_PASSWORD, messages, when=RECEIVED)
    result = cli(imap_config, "run", "--once")
    assert result.returncode == 0, result.stderr
    listed = json.loads(cli(imap_config, "workorders", "list", "--json").stdout)
    emails = [w["contact"]["email"] for w in listed]
    assert emails[0] == "cittadino1@example.net" and emails[-1] == "cittadino2@example.net"
    assert "rejected" in result.stdout and "ignored" in result.stdout

    from sqlmodel import Session, create_engine, select

    from mailbot.models import InboundMessage

    engine = create_engine(database_url(imap_config.parent))
    with Session(engine) as session:
        ledger = list(session.exec(select(InboundMessage).order_by(InboundMessage.uid)))
    assert [row.uid for row in ledger] == [1, 2, 3, 4, 5, 6]
    by_uid = {row.uid: row for row in ledger}
    assert by_uid[2].status == "rejected" and "sender" in by_uid[2].reason
    assert by_uid[3].status == "ignored"
    assert by_uid[5].status in ("rejected", "quarantined") and by_uid[5].reason
    store = imap_config.parent / "store" / "objects"
    for row in ledger:  # every original is kept, byte for byte
        kept = (store / row.raw_sha256[:2] / row.raw_sha256[2:]).read_bytes()
        assert kept == messages[row.uid - 1]


def test_check_reports_a_wrong_password_in_one_line(imap_config, smtp):
    fresh = cli(imap_config, "check")
    assert fresh.returncode == 1
    assert "FAIL  database: " in fresh.stdout and "run `mailbot db upgrade`" in fresh.stdout
    assert cli(imap_config, "db", "upgrade").returncode == 0
    good = cli(imap_config, "check")
    assert good.returncode == 0, good.stdout
    assert "ok    mailbox suggerimenti: IMAP" in good.stdout
    bad = cli(imap_config, "check", env={"MAILBOT_IMAP_PASSWORD": "wrong"})
    assert bad.returncode == 1
    [line] = [ln for ln in bad.stdout.splitlines() if "mailbox suggerimenti" in ln]
    assert line.startswith("FAIL  mailbox suggerimenti: login refused for box")
    assert "Traceback" not in bad.stdout + bad.stderr
    assert "ok    smtp: 127.0.0.1" in bad.stdout


def test_daemon_answers_new_mail_promptly_and_stops_cleanly_on_sigterm(
    imap_config, dovecot, imap_user, smtp
):
    daemon = Daemon(imap_config)
    try:
        daemon.wait_for_log("mailbox connected")
        time.sleep(0.3)  # drained the empty mailbox, now in IDLE
        started = time.monotonic()
        dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(7)])
        received = smtp.wait_for(2, timeout=15)
        latency = time.monotonic() - started
        assert len(received) == 2, "no confirmation and notification within 15 s"
        assert {r.rcpt_tos[0] for r in received} == {
            "cittadino7@example.net",
            "urp@comune.example.it",
        }
        print(f"delivery to confirmation: {latency:.2f} s")
        assert latency < 2  # IDLE (Dovecot notifies after ~0.5 s), not the 2 s poll
        stopping = time.monotonic()
        assert daemon.stop() == 0
        print(f"SIGTERM to exit: {time.monotonic() - stopping:.2f} s")
    finally:
        daemon.kill()
    assert '"event": "mailbot stopped"' in daemon.log
    assert "Traceback" not in daemon.log


def test_uidvalidity_change_rescans_without_duplicates(imap_config, dovecot, imap_user, smtp):
    imap_config.write_text(
        imap_config.read_text().replace("poll_seconds = 2", 'poll_seconds = 2\nfolder = "Reclami"')
    )
    with dovecot.client(imap_user, IMAP_PASSWORD) as client:
        client.create_folder("Reclami")
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(1), citizen_mail(2)], folder="Reclami")
    assert "suggerimenti: 2 filed" in cli(imap_config, "run", "--once").stdout

    # The folder is recreated (restored from a backup, migrated server…): new UIDVALIDITY,
    # UIDs start again at 1, the old messages are there again next to a new one.
    with dovecot.client(imap_user, IMAP_PASSWORD) as client:
        client.delete_folder("Reclami")
        time.sleep(1.1)
        client.create_folder("Reclami")
    dovecot.append(
        imap_user,
        IMAP_PASSWORD,
        [citizen_mail(1), citizen_mail(2), citizen_mail(3)],
        folder="Reclami",
    )
    result = cli(imap_config, "run", "--once")
    assert "suggerimenti: 2 duplicate, 1 filed" in result.stdout, result.stdout
    assert len(to_citizens(smtp.received)) == 3


def test_daemon_reconnects_after_the_imap_server_restarts(imap_config, dovecot, imap_user, smtp):
    daemon = Daemon(imap_config)
    try:
        daemon.wait_for_log("mailbox connected")
        dovecot.stop()
        daemon.wait_for_log("mailbox unavailable")
        dovecot.start()
        daemon.wait_for_log("mailbox connected", count=2)
        dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(9)])
        received = to_citizens(smtp.wait_for(2, timeout=30))
        assert [r.rcpt_tos for r in received] == [["cittadino9@example.net"]]
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert "Traceback" not in daemon.log
