"""Throughput of 1, 2 and 4 `mailbot run` instances sharing one PostgreSQL (a throw-away
cluster) with 4 IMAP mailboxes on a real Dovecot, each holding `--messages` of the ingest mix:
from the instances' start until every message is filed and every confirmation and notification
is accepted by the SMTP server (aiosmtpd's Sink, a process of its own). A fresh database and
fresh mailboxes for each count. Also the CPU seconds each instance (with its sender process)
spent per message it filed, and PostgreSQL's (postmaster and backends): what a bigger machine
has to provide.

    uv run python bench/instances.py --messages 500

Prints messages/s for each count, the speed-up over one instance, and the command line.
"""

from __future__ import annotations

import argparse
import time

from common import (
    children_of,
    cpu_seconds,
    filed_and_sent,
    fill_mailbox,
    mailbot_process,
    servers,
    use_database,
)

MAILBOXES = 4


def extra_mailboxes(config_text: str, port: int, users: list[str]) -> str:
    blocks = "".join(
        f"""
[[mailboxes]]
name = "box{k}"
office = "urp"
source = "imap"
host = "127.0.0.1"
port = {port}
username = "{user}"
password_env = "MAILBOT_IMAP_PASSWORD"
poll_seconds = 2
"""
        for k, user in enumerate(users[1:], start=2)
    )
    return config_text.replace("[[offices]]", blocks.lstrip("\n") + "[[offices]]", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500, help="per mailbox")
    parser.add_argument("--instances", default="1,2,4")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    use_database("postgresql")

    from support.app import imap_mailbox, make_services, postgres_cluster, write_config

    counts = [int(n) for n in args.instances.split(",")]
    users = [f"u{k}_{m}" for k in counts for m in range(MAILBOXES)]
    results: dict[int, float] = {}
    with servers(users, sink_process=True) as bench:
        for k in counts:
            mine = [f"u{k}_{m}" for m in range(MAILBOXES)]
            for m, user in enumerate(mine):
                fill_mailbox(
                    bench.dovecot, user, args.messages, args.seed + m, first=m * args.messages
                )
            work = bench.work / f"k{k}"
            work.mkdir()
            config = write_config(
                work / "mailbot.toml",
                smtp_port=bench.smtp.port,
                mailbox=imap_mailbox(bench.dovecot.port, mine[0], poll_seconds=2),
            )
            config.write_text(extra_mailboxes(config.read_text(), bench.dovecot.port, mine))
            engine = make_services(config).engine  # schema in place
            total = args.messages * MAILBOXES

            postmaster = int((postgres_cluster().data / "postmaster.pid").read_text().split()[0])
            database_cpu = cpu_seconds(postmaster, children=True)
            started = time.perf_counter()
            daemons = [mailbot_process(config, "run") for _ in range(k)]
            try:
                while True:
                    time.sleep(0.25)
                    filed, sent = filed_and_sent(engine)
                    if filed >= total and sent >= 2 * total:  # confirmation + notification
                        break
                    if time.perf_counter() - started > 3600:
                        raise SystemExit(f"{k} instances: only {filed} filed, {sent} sent")
                elapsed = time.perf_counter() - started
                cpu = [  # each daemon with its sender process
                    cpu_seconds(daemon.pid, children=True)
                    + sum(cpu_seconds(child) for child in children_of(daemon.pid))
                    for daemon in daemons
                ]
            finally:
                for daemon in daemons:
                    daemon.terminate()
                for daemon in daemons:
                    daemon.wait(timeout=60)
            time.sleep(1.0)  # the instances' backends exit and are counted
            database_cpu = cpu_seconds(postmaster, children=True) - database_cpu
            results[k] = total / elapsed
            print(
                f"{k} instance(s), {MAILBOXES} mailboxes x {args.messages}: {total} filed, "
                f"{2 * total} sent in {elapsed:.1f} s = {results[k]:.0f} msg/s "
                f"(x{results[k] / results[counts[0]]:.2f})"
            )
            print(
                f"  CPU per message: mailbot {sum(cpu) / total * 1000:.1f} ms "
                f"({', '.join(f'{c:.1f} s' for c in cpu)} for the {k} instance(s)), "
                f"PostgreSQL {database_cpu / total * 1000:.1f} ms"
            )
    print(
        f"reproduce: uv run python bench/instances.py --messages {args.messages} --instances {args.instances}"
    )


if __name__ == "__main__":
    main()
