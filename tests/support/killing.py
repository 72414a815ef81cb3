"""Kill `mailbot run` with SIGKILL at random moments while it works through a backlog on real
Dovecot and SMTP servers, restart it, repeat; then finish with `run --once` and count.
Shared by tests/test_kill.py (30 kills, in CI) and bench/kill_backlog.py (longer)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from mailbot import config as config_module

from support.app import IMAP_PASSWORD, REPO, run_cli


def citizen(i: int) -> bytes:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"Cittadino {i} <kill{i}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Segnalazione {i}"
    msg["Message-ID"] = f"<kill-{i}@example.net>"
    msg.set_content(f"Testo della segnalazione {i}.\n" * 20)
    return msg.as_bytes()


@dataclass
class KillReport:
    messages: int
    kills: int
    cases: int
    duplicate_cases: int
    lost: int
    missing_confirmations: int
    duplicate_confirmations: int

    def __str__(self) -> str:
        return (
            f"{self.messages} messages, {self.kills} SIGKILLs: {self.cases} cases, "
            f"{self.duplicate_cases} duplicate cases, {self.lost} lost, "
            f"{self.missing_confirmations} confirmations missing, "
            f"{self.duplicate_confirmations} duplicate confirmations "
            "(only possible between the relay's acceptance and our commit)"
        )


def _drained(engine: Engine, messages: int) -> bool:
    """Every message is a case and no outbox row is left to send (none is being sent)."""
    try:
        with engine.connect() as conn:
            cases = conn.execute(text("SELECT count(*) FROM work_order")).scalar_one()
            unsent = conn.execute(
                text("SELECT count(*) FROM outbound_message WHERE status <> 'sent'")
            ).scalar_one()
    except (OperationalError, ProgrammingError):  # no tables yet: killed before its migration
        return False
    return cases >= messages and unsent == 0


def claims_expired(url: str) -> bool:
    """No outbox row is held by a (dead) sender's lease any more: every pending row is due."""
    from sqlmodel import Session, select

    from mailbot.models import OutboundMessage, utcnow

    engine = create_engine(url, poolclass=NullPool)
    with Session(engine) as session:
        pending = OutboundMessage.status == "pending"
        due = session.exec(select(OutboundMessage.next_attempt_at).where(pending)).all()
    engine.dispose()
    return all(at <= utcnow() for at in due)


def wait_for_claims_to_expire(url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not claims_expired(url):
        assert time.monotonic() < deadline, f"an outbox lease still held after {timeout} s"
        time.sleep(0.05)


def run_kills(
    config: Path,
    smtp,
    messages: int,
    kills: int,
    seed: int = 7,
    low: float = 0.4,
    high: float = 2.5,
    lease: float = 1.0,
    idle_high: float = 1.0,
) -> KillReport:
    """Each daemon is killed `low`..`high` s after it starts. Once the backlog is worked
    through (every message a case, nothing left to send) a restarted daemon only starts and
    then idles: later kills come `low`..`idle_high` s after the start, in the start-up (the
    lease, the database, the IMAP login), instead of in the idle seconds after it."""
    rng = random.Random(seed)
    env = {**os.environ, "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD}
    url = config_module.load(config).database.url
    engine = create_engine(url, poolclass=NullPool)
    drained = False
    for _ in range(kills):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailbot",
                "--config",
                str(config),
                "--log-level",
                "ERROR",
                "run",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
            env=env,
        )
        time.sleep(rng.uniform(low, idle_high if drained else high))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        drained = _drained(engine, messages)
    engine.dispose()
    # what the last killed sender had claimed is due again (at once if it had claimed nothing)
    wait_for_claims_to_expire(url, lease + 10)
    final = run_cli("--config", str(config), "--log-level", "ERROR", "run", "--once")
    assert final.returncode == 0, final.stderr
    listed = json.loads(run_cli("--config", str(config), "workorders", "list", "--json").stdout)
    per_sender = Counter(w["contact"]["email"] for w in listed)
    expected = {f"kill{i}@example.net" for i in range(messages)}
    # Only confirmations go to these citizens in this scenario (notifications go to the office).
    confirmations = Counter(r.rcpt_tos[0] for r in smtp.received if r.rcpt_tos[0] in expected)
    return KillReport(
        messages=messages,
        kills=kills,
        cases=len(listed),
        duplicate_cases=sum(n - 1 for n in per_sender.values() if n > 1),
        lost=len(expected - set(per_sender)),
        missing_confirmations=len(expected - set(confirmations)),
        duplicate_confirmations=sum(n - 1 for n in confirmations.values() if n > 1),
    )
