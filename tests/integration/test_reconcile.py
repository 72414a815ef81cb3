"""Reconciliation against a real Dovecot: gaps between the mailbox and the ledger are found,
and --fix closes them."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, create_engine

from mailbot.models import MailboxCursor

from support.app import IMAP_PASSWORD, database_url, run_cli, write_config
from support.mail import citizen_mail

pytestmark = pytest.mark.integration


def cli(config, *args):
    return run_cli("--config", str(config), *args)


def test_reconcile_finds_mail_never_ingested_and_fix_ingests_it(
    imap_config, dovecot, imap_user, smtp
):
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(i) for i in range(3)])
    assert cli(imap_config, "run", "--once").returncode == 0
    clean = cli(imap_config, "reconcile")
    assert clean.returncode == 0, clean.stdout
    assert "clean" in clean.stdout

    # Two more arrive, and the cursor is moved past them as a bug (or a restored backup) would.
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(i) for i in range(3, 5)])
    engine = create_engine(database_url(imap_config.parent))
    with Session(engine) as session:
        cursor = session.get(MailboxCursor, "suggerimenti")
        cursor.last_uid = 5
        session.commit()
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(9)])  # new mail: waiting, not a gap

    gaps = cli(imap_config, "reconcile", "--json")
    assert gaps.returncode == 1
    report = json.loads(gaps.stdout)
    [mailbox] = report["mailboxes"]
    assert (mailbox["on_server"], mailbox["recorded"], mailbox["waiting"], mailbox["missing"]) == (
        6,
        3,
        1,
        [4, 5],
    )
    assert report["without_confirmation"] == [] and report["clean"] is False

    fixed = cli(imap_config, "reconcile", "--fix")
    assert fixed.returncode == 0, fixed.stderr
    assert "missing UIDs 4, 5, 2 ingested now" in fixed.stdout
    listed = json.loads(cli(imap_config, "workorders", "list", "--json").stdout)
    assert sorted(w["contact"]["email"] for w in listed) == [
        f"cittadino{i}@example.net" for i in range(5)
    ]
    after = json.loads(cli(imap_config, "reconcile", "--json").stdout)
    assert after["mailboxes"][0]["missing"] == [] and after["mailboxes"][0]["waiting"] == 1


def test_a_maildir_is_reconciled_too(tmp_path):
    """new/ is what waits; a message in cur/ that the ledger never recorded (restored from a
    backup, or moved by a mail client) is missing, and --fix files it."""
    import mailbox

    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(citizen_mail(1))
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert run_cli("--config", str(config), "run", "--once").returncode == 0
    restored = mailbox.MaildirMessage(citizen_mail(2))
    restored.set_subdir("cur")
    box.add(restored)  # in cur/ without ever passing through mailbot
    box.add(citizen_mail(3))  # waiting in new/
    found = run_cli("--config", str(config), "reconcile", "--json")
    assert found.returncode == 1, found.stderr
    [check] = json.loads(found.stdout)["mailboxes"]
    assert (check["on_server"], check["recorded"], check["waiting"]) == (3, 1, 1)
    assert len(check["missing"]) == 1 and check["error"] == ""
    fixed = run_cli("--config", str(config), "reconcile", "--fix", "--json")
    assert json.loads(fixed.stdout)["mailboxes"][0]["fixed"] == 1
    again = json.loads(run_cli("--config", str(config), "reconcile", "--json").stdout)
    assert again["mailboxes"][0]["missing"] == [] and again["mailboxes"][0]["recorded"] == 2
