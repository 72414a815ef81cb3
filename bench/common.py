"""What the benchmarks share: the realistic message mix, filling a Dovecot account's Maildir
fast, the fetch-only floor, real servers in a work directory, and the database to run on."""

from __future__ import annotations

import contextlib
import mailbox
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.servers import Dovecot, SmtpServer  # noqa: E402

PASSWORD = "bench"
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252")
WORDS = (
    "buca strada lampione spento rifiuti raccolta acqua bolletta ritardo risposta ufficio "
    "anagrafe tributi verde pubblico marciapiede segnalazione urgente cittadino quartiere"
).split()
TEMPLATES = 400  # distinct bodies; each message gets its own sender, subject and Message-ID


def make_message(i: int, rng: random.Random) -> bytes:
    """One complaint of the mix: plain, HTML, or both; three charsets; ~10% with an attachment
    of 50 KB to 2 MB. QQNQQ stands for the message's number and QQSQQ for its sender's until
    `numbered` fills them in."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Cittadino QQSQQ <cittadinoQQSQQ@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Segnalazione QQNQQ: {' '.join(rng.choices(WORDS, k=5))} è urgente"
    msg["Date"] = "Mon, 02 Mar 2026 09:00:00 +0100"
    msg["Message-ID"] = f"<bench-QQNQQ-{rng.getrandbits(32):x}@example.net>"
    body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(20, 250)))
    charset = CHARSETS[i % len(CHARSETS)]
    if i % 4 == 0:
        msg.set_content(body, charset=charset)
        msg.add_alternative(
            f"<html><body><p>{body.replace(chr(10), '<br>')}</p></body></html>", subtype="html"
        )
    elif i % 4 == 1:
        msg.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        msg.set_content(body, charset=charset)
    if i % 10 == 0:  # ~10% with an attachment of 50 KB to 2 MB
        size = int(rng.triangular(50_000, 2_000_000, 100_000))
        msg.add_attachment(
            rng.randbytes(size), maintype="application", subtype="pdf", filename=f"doc{i}.pdf"
        )
    return msg.as_bytes()


def numbered(template: bytes, n: int, senders: int) -> bytes:
    return template.replace(b"QQSQQ", str(n % senders).encode()).replace(b"QQNQQ", str(n).encode())


def fill_mailbox(
    dovecot: Dovecot, user: str, count: int, seed: int, *, first: int = 0, senders: int = 3000
) -> int:
    """Writes straight into the account's Maildir (as a delivery agent would); Dovecot indexes
    it. Returns the bytes written."""
    rng = random.Random(seed)
    templates = [make_message(i, rng) for i in range(min(count, TEMPLATES))]
    root = dovecot.root / "mail" / user
    box = mailbox.Maildir(root, create=True)
    total = 0
    for i in range(count):
        raw = numbered(templates[i % len(templates)], first + i, senders)
        total += len(raw)
        box.add(raw)
    if os.getuid() == 0:
        uid, gid = dovecot._mail_ids()
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    return total


def floor(dovecot: Dovecot, user: str) -> tuple[int, float]:
    """Fetch every message with BODY.PEEK[] in batches of 50 and nothing else."""
    client = dovecot.client(user, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    started = time.perf_counter()
    fetched = 0
    for start in range(0, len(uids), 50):
        response = client.fetch(uids[start : start + 50], [b"BODY.PEEK[]"])
        fetched += sum(len(v[b"BODY[]"]) > 0 for v in response.values())
    elapsed = time.perf_counter() - started
    client.logout()
    return fetched, elapsed


@dataclass
class Bench:
    work: Path
    dovecot: Dovecot
    smtp: SmtpServer | SinkProcess


class SinkProcess:
    """aiosmtpd's Sink (accepts and discards) in a process of its own, as a real relay is: an
    SMTP server on a thread of the benchmark would take the GIL from the mailbot it measures."""

    def __init__(self) -> None:
        from support.servers import free_port

        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from support.servers import wait_for_port

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Sink"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def servers(users: list[str], sink_process: bool = False) -> Iterator[Bench]:
    """A work directory with a private Dovecot (these accounts) and an SMTP server: one that
    records what it receives on a thread, or with `sink_process` a discarding one apart."""
    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    os.chmod(work, 0o755)
    (work / "dovecot").mkdir()
    dovecot = Dovecot(work / "dovecot")
    for user in users:
        dovecot.add_user(user, PASSWORD)
    smtp = SinkProcess() if sink_process else SmtpServer()
    dovecot.start()
    smtp.start()
    try:
        yield Bench(work, dovecot, smtp)
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


def use_database(kind: str) -> None:
    """Before support.app is imported: its write_config then points at SQLite in the work dir,
    or at a new database of a throw-away PostgreSQL cluster (stopped at exit)."""
    os.environ["MAILBOT_TEST_DATABASE"] = kind
    os.environ["MAILBOT_IMAP_PASSWORD"] = PASSWORD


def quiet_logs() -> None:
    import mailbot.log

    mailbot.log.configure("WARNING", json=False)


def mailbot_process(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "--log-level", "WARNING", *args],
        cwd=REPO,
        env={**os.environ, "MAILBOT_IMAP_PASSWORD": PASSWORD},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU time of a live process (with `children`, also of its children that
    have exited and been waited for, such as PostgreSQL's backends)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def filed_and_sent(engine: Any) -> tuple[int, int]:
    """Ledger rows, and outbox rows sent: how far a running mailbot has got."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from mailbot.models import InboundMessage, OutboundMessage

    with Session(engine) as session:
        filed = session.exec(select(func.count()).select_from(InboundMessage)).one()
        sent = session.exec(
            select(func.count())
            .select_from(OutboundMessage)
            .where(OutboundMessage.status == "sent")
        ).one()
    return filed, sent


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (mailbot run's sender process)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.extend(int(child) for child in children)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
