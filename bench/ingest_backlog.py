"""Backlog ingest: N realistic complaints waiting in a real Dovecot mailbox → work orders and
confirmations accepted by a real SMTP server (aiosmtpd's Sink, in a process of its own), next to the floor measured in the same run
(fetching the same messages with BODY.PEEK[] in batches of 50 and nothing else).

    uv run python bench/ingest_backlog.py --messages 10000
    uv run python bench/ingest_backlog.py --messages 10000 --database postgresql

Prints messages/s for the floor and for mailbot, the ratio, and the command line. Needs
Debian's dovecot-imapd (and postgresql for --database postgresql); scripts/test installs both.
"""

from __future__ import annotations

import argparse
import time

from common import fill_mailbox, floor, quiet_logs, servers, use_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", default="", help="write a pyinstrument HTML profile here")
    args = parser.parse_args()
    use_database(args.database)
    quiet_logs()

    from mailbot.runtime import run_once

    from support.app import imap_mailbox, make_services, write_config

    with servers(["bench"], sink_process=True) as bench:
        size = fill_mailbox(bench.dovecot, "bench", args.messages, args.seed)
        print(
            f"mailbox: {args.messages} messages, {size / 1e6:.1f} MB, "
            f"{size / args.messages / 1e3:.0f} KB average; database: {args.database}"
        )
        floor(bench.dovecot, "bench")  # warm Dovecot's index and the page cache once
        fetched, floor_s = floor(bench.dovecot, "bench")
        floor_rate = fetched / floor_s
        print(
            f"floor (BODY.PEEK[] in batches of 50, nothing else): {floor_rate:.0f} msg/s ({floor_s:.2f} s)"
        )
        config = write_config(
            bench.work / "mailbot.toml",
            smtp_port=bench.smtp.port,
            mailbox=imap_mailbox(bench.dovecot.port, "bench"),
        )
        services = make_services(config)
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.005)
            profiler.start()
        started = time.perf_counter()
        report = run_once(services)
        elapsed = time.perf_counter() - started
        if profiler is not None:
            profiler.stop()
            with open(args.profile, "w", encoding="utf-8") as out:
                out.write(profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False)[:6000])
        filed = report.mailboxes["suggerimenti"].counts.get("filed", 0)
        print(
            f"mailbot: {filed} filed, {report.delivery.sent} messages accepted by SMTP "
            "(confirmations to citizens and notifications to the office)"
        )
        rate = args.messages / elapsed
        print(
            "mailbot ingest (fetch, ledger, parse, match, work order, confirmation + "
            f"notification, SMTP): {rate:.0f} msg/s ({elapsed:.2f} s)"
        )
        print(f"ratio to floor: {rate / floor_rate:.2f} (target 0.5)")
        print(
            f"reproduce: uv run python bench/ingest_backlog.py --messages {args.messages} "
            f"--seed {args.seed} --database {args.database}"
        )


if __name__ == "__main__":
    main()
