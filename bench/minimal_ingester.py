"""The smallest complete ingester, as issue 19 describes its reference: fetch (BODY.PEEK[] in
batches of 50), mail-parser, one SQLite transaction per message (WAL, synchronous=FULL, the
original and the parsed text in a row), one confirmation composed with `email.mime` and sent
over one kept SMTP connection, next to the floor of the same run. No ledger, matching, case,
notification, templates, loop brake or crash-safe sequence: what it does per message is the
least any intake must do, so its ratio to the floor bounds what mailbot's can be here.

    uv run python bench/minimal_ingester.py --messages 2000
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from email.mime.text import MIMEText

import aiosmtplib
import mailparser

from common import PASSWORD, Dovecot, fill_mailbox, floor, servers


async def ingest(dovecot: Dovecot, smtp_port: int, database: str) -> int:
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE message (uid INTEGER PRIMARY KEY, sender TEXT, subject TEXT, body TEXT, raw BLOB)"
    )
    client = dovecot.client("bench", PASSWORD)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with servers(["bench"], sink_process=True) as bench:
        fill_mailbox(bench.dovecot, "bench", args.messages, args.seed)
        floor(bench.dovecot, "bench")  # warm Dovecot's index and the page cache once
        fetched, floor_s = floor(bench.dovecot, "bench")
        floor_rate = fetched / floor_s
        print(f"floor (BODY.PEEK[] in batches of 50): {floor_rate:.0f} msg/s ({floor_s:.2f} s)")
        started = time.perf_counter()
        done = asyncio.run(ingest(bench.dovecot, bench.smtp.port, str(bench.work / "minimal.db")))
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
