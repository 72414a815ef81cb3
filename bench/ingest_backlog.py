"""Backlog ingest: N realistic complaints waiting in a real Dovecot mailbox → work orders and
confirmations accepted by a real SMTP server, next to the floor measured in the same run
(fetching the same messages with BODY.PEEK[] in batches of 50 and nothing else).

    uv run python bench/ingest_backlog.py --messages 2000
    uv run python bench/ingest_backlog.py --messages 10000 --database sqlite

Prints messages/s for the floor and for mailbot, the ratio, and the command line. Needs
Debian's dovecot-imapd (scripts/test installs it).
"""

from __future__ import annotations

import argparse
import mailbox
import os
import random
import shutil
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from servers import Dovecot, SmtpServer  # noqa: E402

PASSWORD = "bench"
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252")
WORDS = (
    "buca strada lampione spento rifiuti raccolta acqua bolletta ritardo risposta ufficio "
    "anagrafe tributi verde pubblico marciapiede segnalazione urgente cittadino quartiere"
).split()


def make_message(i: int, rng: random.Random) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Cittadino {i} <cittadino{i % 3000}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Segnalazione {i}: {' '.join(rng.choices(WORDS, k=5))} è urgente"
    msg["Date"] = "Mon, 02 Mar 2026 09:00:00 +0100"
    msg["Message-ID"] = f"<bench-{i}-{rng.getrandbits(32):x}@example.net>"
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


def fill_mailbox(dovecot: Dovecot, user: str, count: int, seed: int) -> int:
    """Writes straight into the account's Maildir (as a delivery agent would); Dovecot indexes it."""
    rng = random.Random(seed)
    root = dovecot.root / "mail" / user
    box = mailbox.Maildir(root, create=True)
    total = 0
    for i in range(count):
        raw = make_message(i, rng)
        total += len(raw)
        box.add(raw)
    if os.getuid() == 0:
        uid, gid = dovecot._mail_ids()
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    return total


def floor(dovecot: Dovecot, user: str) -> tuple[int, float]:
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


def run_mailbot(
    work: Path, dovecot: Dovecot, user: str, smtp: SmtpServer, database_url: str
) -> float:
    from mailbot.daemon import run_once

    from conftest import imap_mailbox, make_services, write_config

    config = write_config(
        work / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(dovecot.port, user),
    )
    if database_url:
        config.write_text(
            config.read_text().replace(
                f'url = "sqlite:///{work}/mailbot.db"', f'url = "{database_url}"'
            )
        )
    os.environ["MAILBOT_IMAP_PASSWORD"] = PASSWORD
    services = make_services(config)
    started = time.perf_counter()
    report = run_once(services)
    elapsed = time.perf_counter() - started
    filed = report.mailboxes["suggerimenti"].counts.get("filed", 0)
    print(
        f"mailbot: {filed} filed, {report.delivery.sent} messages accepted by SMTP "
        "(confirmations to citizens and notifications to the office)"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="", help="default: SQLite in the work dir")
    args = parser.parse_args()

    import structlog

    import mailbot.log

    mailbot.log.configure("WARNING", json=False)
    structlog.get_logger()  # configured

    work = Path(tempfile.mkdtemp(prefix="mailbot-bench-"))
    os.chmod(work, 0o755)
    dovecot = Dovecot(work / "dovecot")
    (work / "dovecot").mkdir()
    dovecot.add_user("bench", PASSWORD)
    smtp = SmtpServer()
    dovecot.start()
    smtp.start()
    try:
        size = fill_mailbox(dovecot, "bench", args.messages, args.seed)
        print(
            f"mailbox: {args.messages} messages, {size / 1e6:.1f} MB, {size / args.messages / 1e3:.0f} KB average"
        )
        floor(dovecot, "bench")  # warm Dovecot's index and the page cache once
        fetched, floor_s = floor(dovecot, "bench")
        floor_rate = fetched / floor_s
        print(
            f"floor (BODY.PEEK[] in batches of 50, nothing else): {floor_rate:.0f} msg/s ({floor_s:.2f} s)"
        )
        elapsed = run_mailbot(work, dovecot, "bench", smtp, args.database_url)
        rate = args.messages / elapsed
        print(
            f"mailbot ingest (fetch, ledger, parse, match, work order, confirmation + notification, SMTP): "
            f"{rate:.0f} msg/s ({elapsed:.2f} s)"
        )
        print(f"ratio to floor: {rate / floor_rate:.2f}")
        print(
            f"reproduce: uv run python bench/ingest_backlog.py --messages {args.messages} --seed {args.seed}"
        )
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
