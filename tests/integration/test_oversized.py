"""An oversized message: kept whole, streamed with bounded memory, its text opens the case,
its attachments are not taken, and the citizen is told."""

from __future__ import annotations

import email
import hashlib
import json
import os
import subprocess
import sys
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default

import pytest

from support.app import IMAP_PASSWORD, REPO, run_cli

pytestmark = pytest.mark.integration

WRAPPER = (
    "import atexit, sys\n"
    "sys.argv = ['mailbot', *sys.argv[1:]]\n"
    # VmHWM, not ru_maxrss: Linux carries the forked parent's high-water mark across exec
    # into ru_maxrss, and the parent (this test) has just built a 41 MB message. At exit: a
    # `run --once` leaves with os._exit once its exit handlers have run (cli.leave).
    "def hwm():\n"
    "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "    print('MAXRSS_KB', line.split()[1], file=sys.stderr)\n"
    "atexit.register(hwm)\n"
    "from mailbot.cli import main\n"
    "main()\n"
)


def run_measured(config) -> int:
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD},
    )
    line = next(ln for ln in result.stderr.splitlines() if ln.startswith("MAXRSS_KB"))
    return int(line.split()[1])


def message(n: int, attachment_bytes: int) -> bytes:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"Cittadino {n} <grande{n}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Video della frana {n}"
    msg["Message-ID"] = f"<grande-{n}@example.net>"
    msg.set_content("Allego il video della frana in via dei Colli.\n")
    if attachment_bytes:
        msg.add_attachment(
            os.urandom(attachment_bytes), maintype="video", subtype="mp4", filename="frana.mp4"
        )
    return msg.as_bytes()


def test_oversized_message_is_kept_whole_with_bounded_memory(imap_config, dovecot, imap_user, smtp):
    imap_config.write_text(imap_config.read_text() + "\n[limits]\nmax_message_mb = 2\n")
    dovecot.append(imap_user, IMAP_PASSWORD, [message(1, 0)])
    baseline = run_measured(imap_config)

    big = message(2, 30 * 1024 * 1024)  # ~41 MB once base64-encoded
    dovecot.append(imap_user, IMAP_PASSWORD, [big])
    peak = run_measured(imap_config)
    print(
        f"\n  peak RSS: {baseline // 1024} MB for a small message, {peak // 1024} MB for {len(big) // 2**20} MB"
    )
    assert peak - baseline < 25 * 1024  # the message never sits in memory whole

    listed = json.loads(
        run_cli("--config", str(imap_config), "workorders", "list", "--json").stdout
    )
    [case] = [w for w in listed if w["contact"]["email"] == "grande2@example.net"]
    shown = json.loads(
        run_cli("--config", str(imap_config), "workorders", "show", case["number"], "--json").stdout
    )
    citizen = shown["messages"][0]
    assert "video della frana" in citizen["body_text"]
    assert citizen["attachments"] == []
    [confirmation] = [r for r in smtp.received if r.rcpt_tos == ["grande2@example.net"]]
    text = (
        email.message_from_bytes(confirmation.data, policy=default)
        .get_body(("plain",))
        .get_content()
    )
    assert "supera 2 MB: ne abbiamo registrato il testo, ma non" in text
    ledger = json.loads(run_cli("--config", str(imap_config), "inbound", "list", "--json").stdout)
    assert [r["status"] for r in ledger] == ["filed", "filed"]
    digest = hashlib.sha256(big).hexdigest()
    stored = imap_config.parent / "store" / "objects" / digest[:2] / digest[2:]
    assert stored.read_bytes() == big  # whole, byte for byte
