"""Latency with IDLE: one message delivered to the mailbox → its confirmation accepted by the
SMTP server, with `mailbot run` idling on a real Dovecot; p50/p95 over N messages sent one at a
time (the next after the previous confirmation), next to Dovecot's own floor: another IMAP
client in IDLE on the same mailbox, told of the same delivery.

    uv run python bench/idle_latency.py --messages 200
    uv run python bench/idle_latency.py --messages 200 --database postgresql
"""

from __future__ import annotations

import argparse
import threading
import time
from email.message import EmailMessage

from common import PASSWORD, mailbot_process, percentile, servers, use_database


def complaint(i: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Cittadina {i} <latenza{i}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Lampione spento {i}"
    msg["Message-ID"] = f"<latency-{i}@example.net>"
    msg.set_content("Il lampione di via Roma è spento da una settimana.\n" * 5)
    return msg.as_bytes()


class IdleWatcher:
    """A second IMAP client in IDLE: when Dovecot itself tells of a new message (the floor)."""

    def __init__(self, bench) -> None:
        self.client = bench.dovecot.client("bench", PASSWORD)
        self.client.select_folder("INBOX", readonly=True)
        self.seen: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.client.idle()
        while not self.stop.is_set():
            for response in self.client.idle_check(timeout=0.2):
                if len(response) > 1 and response[1] == b"EXISTS":
                    self.seen.append(time.perf_counter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    use_database(args.database)

    from support.app import imap_mailbox, make_services, write_config

    with servers(["bench"]) as bench:
        config = write_config(
            bench.work / "mailbot.toml",
            smtp_port=bench.smtp.port,
            mailbox=imap_mailbox(bench.dovecot.port, "bench", poll_seconds=300),
        )
        make_services(config).engine.dispose()  # schema in place before the daemon starts
        daemon = mailbot_process(config, "run")
        watcher = IdleWatcher(bench)
        client = bench.dovecot.client("bench", PASSWORD)
        latencies: list[float] = []
        floors: list[float] = []
        try:
            time.sleep(3)  # connected and idling
            for i in range(args.messages):
                expected = f"latenza{i}@example.net"
                sent_before = len(watcher.seen)
                start = time.perf_counter()
                client.append("INBOX", complaint(i))
                deadline = start + 30
                while time.perf_counter() < deadline:
                    if any(expected in r.rcpt_tos for r in bench.smtp.received[-3:]):
                        break
                    time.sleep(0.002)
                else:
                    raise SystemExit(f"no confirmation for message {i} within 30 s")
                latencies.append(time.perf_counter() - start)
                if len(watcher.seen) > sent_before:
                    floors.append(watcher.seen[sent_before] - start)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
            watcher.stop.set()
            client.logout()
    ms = [v * 1000 for v in latencies]
    floor_ms = [v * 1000 for v in floors] or [0.0]
    print(f"{len(ms)} messages, one at a time, database: {args.database}")
    print(
        f"delivery → confirmation accepted by SMTP: p50 {percentile(ms, 0.5):.0f} ms, "
        f"p95 {percentile(ms, 0.95):.0f} ms, worst {max(ms):.0f} ms (target p95 < 1000 ms)"
    )
    print(
        f"floor, Dovecot's IDLE notice to another client: p50 {percentile(floor_ms, 0.5):.0f} ms, "
        f"p95 {percentile(floor_ms, 0.95):.0f} ms"
    )
    print(
        f"reproduce: uv run python bench/idle_latency.py --messages {args.messages} --database {args.database}"
    )


if __name__ == "__main__":
    main()
