"""Backlog ingest: N realistic complaints waiting in a real Dovecot mailbox → work orders and
confirmations accepted by a real SMTP server (aiosmtpd's Sink, in a process of its own), next to the floor measured in the same run
(fetching the same messages with BODY.PEEK[] in batches of 50 and nothing else).

    uv run python bench/ingest_backlog.py --messages 10000
    uv run python bench/ingest_backlog.py --messages 10000 --database postgresql
    uv run python bench/ingest_backlog.py --messages 2000 --daemon

Without --daemon the work is `run_once` in this process: every mailbox drained, then the
outbox sent. With --daemon it is `mailbot run` in a process of its own, timed from its start
until every message is filed and both mails of each are accepted (ingest and sending overlap,
as in production after an outage), with the daemon's CPU seconds per message.

Prints messages/s for the floor and for mailbot, the ratio, and the command line. Needs
Debian's dovecot-imapd (and postgresql for --database postgresql); scripts/test installs both.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

from common import (
    children_of,
    cpu_seconds,
    filed_and_sent,
    fill_mailbox,
    floor,
    mailbot_process,
    quiet_logs,
    servers,
    use_database,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--profile", default="", help="write a pyinstrument HTML profile here")
    parser.add_argument("--daemon", action="store_true", help="time `mailbot run` instead")
    parser.add_argument(
        "--sender", choices=("thread", "process"), default="thread",
        help="with --daemon: [outbox] sender, a thread of the daemon (default) or a process",
    )  # fmt: skip
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
            # with the back office, as a municipality runs it: large attachments linked
            extra='[backoffice]\nlisten = "127.0.0.1:8026"\npublic_url = "https://ufficio.example"\n',
        )
        text = config.read_text()
        config.write_text(text.replace("[outbox]\n", f'[outbox]\nsender = "{args.sender}"\n'))
        services = make_services(config)
        if args.daemon:
            elapsed = run_daemon(config, services.engine, args.messages)
            report_rate(args, elapsed, floor_rate)
            return
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
            print(profiler.output_text(unicode=False, color=False, show_all=False)[:12000])
        filed = report.mailboxes["suggerimenti"].counts.get("filed", 0)
        print(
            f"mailbot: {filed} filed, {report.delivery.sent} messages accepted by SMTP "
            "(confirmations to citizens and notifications to the office)"
        )
        report_rate(args, elapsed, floor_rate)


def run_daemon(config: Path, engine: Engine, messages: int) -> float:
    """`mailbot run` from its start until every message is filed and its two mails sent."""
    started = time.perf_counter()
    daemon = mailbot_process(config, "run")
    first = all_filed = 0.0
    try:
        while True:
            time.sleep(0.1)
            filed, sent = filed_and_sent(engine)
            if filed and not first:
                first = time.perf_counter() - started
            if filed >= messages and not all_filed:
                all_filed = time.perf_counter() - started
            if filed >= messages and sent >= 2 * messages:
                break
            if daemon.poll() is not None:
                raise SystemExit(f"mailbot run exited ({daemon.returncode}): {filed} filed")
        elapsed = time.perf_counter() - started
        own = cpu_seconds(daemon.pid, children=True)
        children = sum(cpu_seconds(child) for child in children_of(daemon.pid))
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    print(
        f"mailbot run: {filed} filed, {sent} messages accepted by SMTP; first filed after "
        f"{first:.1f} s, all filed after {all_filed:.1f} s"
    )
    print(
        f"  CPU per message: {(own + children) / messages * 1000:.1f} ms "
        f"({own / messages * 1000:.1f} ms the daemon, {children / messages * 1000:.1f} ms its children)"
    )
    return elapsed


def report_rate(args: argparse.Namespace, elapsed: float, floor_rate: float) -> None:
    rate = args.messages / elapsed
    what = (
        f"mailbot run (sender: {args.sender}), from its start" if args.daemon else "mailbot ingest"
    )
    print(
        f"{what} (fetch, ledger, parse, match, work order, confirmation + "
        f"notification, SMTP): {rate:.0f} msg/s ({elapsed:.2f} s)"
    )
    print(f"ratio to floor: {rate / floor_rate:.2f} (target 0.5)")
    print(
        f"reproduce: uv run python bench/ingest_backlog.py --messages {args.messages} "
        f"--seed {args.seed} --database {args.database}"
        + (f" --daemon --sender {args.sender}" if args.daemon else "")
    )


if __name__ == "__main__":
    main()
