"""The three targets bench/paired.py alternates on one mailbox: mailbot `run --once` (SQLite,
the project's venv), django-helpdesk's `get_email` (the peer, bench/peer/.venv) and the minimal
ingester (bench/minimal_ingester.py). Each has an untimed `prepare` in its empty work
directory, a timed command, and a `check` that reads what the run really did (its work orders,
the mails the sink accepted) and says what is wrong, if anything."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
PEER = BENCH / "peer"
PEER_PYTHON = PEER / ".venv" / "bin" / "python"

MAILBOT_TOML = """\
timezone = "Europe/Rome"
language = "it"
[database]
url = "sqlite:///{work}/mailbot.db"
[storage]
path = "{work}/store"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_address = "suggerimenti@comune.example.it"
from_name = "Comune di Esempio - URP"
[[mailboxes]]
name = "suggerimenti"
source = "imap"
host = "127.0.0.1"
port = {imap_port}
security = "none"
username = "{imap_user}"
password_env = "BENCH_IMAP_PASSWORD"
folder = "INBOX"
office = "urp"
[[offices]]
id = "urp"
name = "Ufficio Relazioni con il Pubblico"
email = "urp@comune.example.it"
operators = ["mario.rossi@comune.example.it"]
response_days = 30
[backoffice]
# The staff's back office (issue 30), as a municipality runs it: the office's notification
# carries attachments up to mail_attachments_kb (default 256) and links the larger ones.
listen = "127.0.0.1:8026"
public_url = "https://servizi.comune.example.it/ufficio"
"""


@dataclass
class Corpus:
    n: int
    replies: int  # messages answering an earlier one of the corpus (In-Reply-To, References)

    @property
    def new_cases(self) -> int:
        return self.n - self.replies


@dataclass
class Outcome:
    """What one timed run did, read after it: work orders and mails accepted by the sink."""

    work_orders: int | None
    sink: int
    detail: str = ""


@dataclass
class Target:
    name: str
    label: str
    command: Callable[[Path, dict[str, str]], list[str]]
    prepare: Callable[[Path, dict[str, str]], None]
    outcome: Callable[[Path, str, int], Outcome]
    check: Callable[[Outcome, Corpus], str]


def _last(stdout: str, key: str) -> int | None:
    values = [line.split("=", 1)[1] for line in stdout.splitlines() if line.startswith(key + "=")]
    return int(values[-1]) if values else None


# -- mailbot ---------------------------------------------------------------------------------
def mailbot_target(executable: Path) -> Target:
    def config(work: Path) -> Path:
        return work / "mailbot.toml"

    def prepare(work: Path, env: dict[str, str]) -> None:
        config(work).write_text(
            MAILBOT_TOML.format(
                work=work,
                smtp_port=env["BENCH_SMTP_PORT"],
                imap_port=env["BENCH_IMAP_PORT"],
                imap_user=env["BENCH_IMAP_USER"],
            )
        )
        subprocess.run(
            [str(executable), "--config", str(config(work)), "db", "upgrade"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip

    def command(work: Path, env: dict[str, str]) -> list[str]:
        return [str(executable), "--config", str(config(work)), "--log-level", "WARNING",
                "run", "--once"]  # fmt: skip

    def outcome(work: Path, stdout: str, sink: int) -> Outcome:
        with sqlite3.connect(work / "mailbot.db") as db:
            (cases,) = db.execute("SELECT count(*) FROM work_order").fetchone()
            statuses = dict(db.execute("SELECT status, count(*) FROM inbound_message GROUP BY 1"))
            (sent,) = db.execute(
                "SELECT count(*) FROM outbound_message WHERE status = 'sent'"
            ).fetchone()
        ledger = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        return Outcome(cases, sink, f"ledger: {ledger}; outbox sent {sent}")

    def check(out: Outcome, corpus: Corpus) -> str:
        if out.work_orders != corpus.new_cases:
            return f"{out.work_orders} work orders, {corpus.new_cases} expected ({out.detail})"
        if out.sink < corpus.n:  # a confirmation (or reply receipt) a message, at least
            return f"{out.sink} mails at the sink for {corpus.n} messages ({out.detail})"
        return ""

    return Target("mailbot", "mailbot `run --once` (SQLite)", command, prepare, outcome, check)


# -- django-helpdesk -------------------------------------------------------------------------
def helpdesk_target() -> Target:
    def prepare(work: Path, env: dict[str, str]) -> None:
        subprocess.run(
            [str(PEER_PYTHON), str(PEER / "prepare.py")], env=env, check=True, capture_output=True
        )

    def command(work: Path, env: dict[str, str]) -> list[str]:
        return [str(PEER_PYTHON), str(PEER / "get_email.py")]

    def outcome(work: Path, stdout: str, sink: int) -> Outcome:
        detail = (
            f"follow-ups {_last(stdout, 'FOLLOWUPS')}, attachments {_last(stdout, 'ATTACHMENTS')}"
        )
        return Outcome(_last(stdout, "WORK_ORDERS"), sink, detail)

    def check(out: Outcome, corpus: Corpus) -> str:
        if out.work_orders != corpus.new_cases:
            return f"{out.work_orders} tickets, {corpus.new_cases} expected ({out.detail})"
        if out.sink < corpus.n:
            return f"{out.sink} mails at the sink for {corpus.n} messages"
        return ""

    return Target("helpdesk", "django-helpdesk 2.6.1 `get_email`", command, prepare, outcome, check)


# -- minimal ingester ------------------------------------------------------------------------
def minimal_target() -> Target:
    def prepare(work: Path, env: dict[str, str]) -> None:
        return None

    def command(work: Path, env: dict[str, str]) -> list[str]:
        return [sys.executable, str(BENCH / "minimal_ingester.py"), "--from-env"]

    def outcome(work: Path, stdout: str, sink: int) -> Outcome:
        with sqlite3.connect(work / "minimal.db") as db:
            (rows,) = db.execute("SELECT count(*) FROM message").fetchone()
        return Outcome(rows, sink, f"printed {_last(stdout, 'WORK_ORDERS')}")

    def check(out: Outcome, corpus: Corpus) -> str:
        # no threading: one row and one confirmation for every message
        if out.work_orders != corpus.n or out.sink != corpus.n:
            return f"{out.work_orders} rows, {out.sink} confirmations for {corpus.n} messages"
        return ""

    return Target(
        "minimal",
        "minimal ingester (fetch, mail-parser, SQLite, one confirmation)",
        command, prepare, outcome, check,
    )  # fmt: skip


def all_targets(mailbot: Path) -> dict[str, Target]:
    return {
        "mailbot": mailbot_target(mailbot),
        "helpdesk": helpdesk_target(),
        "minimal": minimal_target(),
    }
