"""The smallest complete ingester, as issue 19 describes its reference: fetch (BODY.PEEK[] in
batches of 50), mail-parser, one SQLite transaction per message (WAL, synchronous=FULL, the
original and the parsed text in a row), one confirmation composed with `email.mime` and sent
over one kept SMTP connection, next to the floor of the same run. No ledger, matching, case,
notification, templates, loop brake or crash-safe sequence: what it does per message is the
least any intake must do, so its ratio to the floor bounds what mailbot's can be here.

    uv run python bench/minimal_ingester.py --messages 2000

With `--from-env` it is one target of bench/paired.py instead: it ingests the mailbox the
BENCH_IMAP_* variables name, sends to BENCH_SMTP_PORT, writes SQLite in BENCH_WORKDIR and prints
WORK_ORDERS=<rows>, with nothing else imported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import time
from email.mime.text import MIMEText

import aiosmtplib
import mailparser
from imapclient import IMAPClient


async def ingest(client: IMAPClient, smtp_port: int, database: str) -> int:
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE message (uid INTEGER PRIMARY KEY, sender TEXT, subject TEXT, body TEXT, raw BLOB)"
    )
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    relay = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_port)
    await relay.connect()
    done = 0
    for start in range(0, len(uids), 50):
        batch = client.fetch(uids[start : start + 50], [b"BODY.PEEK[]"])
        for uid in sorted(batch):
            raw = batch[uid][b"BODY[]"]
            parsed = mailparser.parse_from_bytes(raw)
            sender = parsed.from_[0][1] if parsed.from_ else "unknown@example.org"
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO message VALUES (?, ?, ?, ?, ?)",
                (
                    uid,
                    sender,
                    parsed.subject,
                    parsed.text_plain[0] if parsed.text_plain else "",
                    raw,
                ),
            )
            db.execute("COMMIT")
            reply = MIMEText(
                f"Abbiamo ricevuto il suo messaggio «{parsed.subject}».", "plain", "utf-8"
            )
            reply["From"] = "suggerimenti@comune.example.it"
            reply["To"] = sender
            reply["Subject"] = f"Ricevuta: {parsed.subject}"
            await relay.send_message(reply)
            done += 1
    await relay.quit()
    client.logout()
    db.close()
    return done


def from_env() -> None:
    env = os.environ
    client = IMAPClient(env["BENCH_IMAP_HOST"], port=int(env["BENCH_IMAP_PORT"]), ssl=False)
    client.login(env["BENCH_IMAP_USER"], env["BENCH_IMAP_PASSWORD"])
    database = os.path.join(env["BENCH_WORKDIR"], "minimal.db")
    done = asyncio.run(ingest(client, int(env["BENCH_SMTP_PORT"]), database))
    print(f"WORK_ORDERS={done}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from-env", action="store_true", help="a target of bench/paired.py")
    args = parser.parse_args()
    if args.from_env:
        from_env()
        return
    from common import PASSWORD, fill_mailbox, floor, servers

    with servers(["bench"], sink_process=True) as bench:
        fill_mailbox(bench.dovecot, "bench", args.messages, args.seed)
        floor(bench.dovecot, "bench")  # warm Dovecot's index and the page cache once
        fetched, floor_s = floor(bench.dovecot, "bench")
        floor_rate = fetched / floor_s
        print(f"floor (BODY.PEEK[] in batches of 50): {floor_rate:.0f} msg/s ({floor_s:.2f} s)")
        started = time.perf_counter()
        client = bench.dovecot.client("bench", PASSWORD)
        done = asyncio.run(ingest(client, bench.smtp.port, str(bench.work / "minimal.db")))
        elapsed = time.perf_counter() - started
        rate = done / elapsed
        print(
            f"minimal ingester (fetch, mail-parser, one SQLite commit, one confirmation sent): "
            f"{done} in {elapsed:.2f} s = {rate:.0f} msg/s, ratio to floor {rate / floor_rate:.2f}"
        )
        print(
            f"reproduce: uv run python bench/minimal_ingester.py --messages {args.messages} --seed {args.seed}"
        )


if __name__ == "__main__":
    main()
