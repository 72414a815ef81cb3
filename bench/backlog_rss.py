"""Peak memory during a large backlog: N messages (the ingest mix) waiting in one mailbox,
`mailbot run` started on it; its resident set is sampled while it works through the first
`--process` of them (the whole of 100,000 would take hours here, and what grows with the
backlog — the UID list, the fetch batches, the cursor — is there from the first minute).

    uv run python bench/backlog_rss.py --messages 100000 --process 3000

Prints RSS at checkpoints, the peak (VmHWM) and the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import time

from sqlalchemy import func
from sqlmodel import Session, select

from common import (
    children_of,
    cpu_seconds,
    fill_mailbox,
    mailbot_process,
    peak_rss_mb,
    rss_mb,
    servers,
    use_database,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--process", type=int, default=3000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sender", choices=("thread", "process"), default="thread",
        help="[outbox] sender: the daemon sends from a thread (default) or a child process",
    )  # fmt: skip
    args = parser.parse_args()
    use_database(args.database)

    from mailbot.models import InboundMessage

    from support.app import imap_mailbox, make_services, write_config

    with servers(["bench"]) as bench:
        started = time.perf_counter()
        size = fill_mailbox(bench.dovecot, "bench", args.messages, args.seed)
        print(
            f"mailbox: {args.messages} messages, {size / 1e9:.2f} GB, written in "
            f"{time.perf_counter() - started:.0f} s; database: {args.database}"
        )
        with bench.dovecot.client("bench", "bench") as client:  # Dovecot indexes it once
            started = time.perf_counter()
            client.select_folder("INBOX", readonly=True)
            print(f"Dovecot indexed the mailbox in {time.perf_counter() - started:.0f} s")
        config = write_config(
            bench.work / "mailbot.toml",
            smtp_port=bench.smtp.port,
            mailbox=imap_mailbox(bench.dovecot.port, "bench"),
        )
        text = config.read_text()
        config.write_text(text.replace("[outbox]\n", f'[outbox]\nsender = "{args.sender}"\n'))
        engine = make_services(config).engine

        def done() -> int:
            with Session(engine) as session:
                return session.exec(select(func.count()).select_from(InboundMessage)).one()

        daemon = mailbot_process(config, "run")
        started = time.perf_counter()
        checkpoints = [100, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]
        peak = 0.0
        child_peaks: dict[int, float] = {}  # the sender process, multiprocessing's tracker
        cpu: dict[int, float] = {}  # CPU seconds of each, at the last sample
        try:
            while True:
                time.sleep(0.5)
                if daemon.poll() is not None:
                    raise SystemExit(f"mailbot run exited with {daemon.returncode}")
                peak = max(peak, peak_rss_mb(daemon.pid))
                cpu[daemon.pid] = cpu_seconds(daemon.pid)
                for child in children_of(daemon.pid):
                    with contextlib.suppress(FileNotFoundError):
                        child_peaks[child] = max(child_peaks.get(child, 0.0), peak_rss_mb(child))
                        cpu[child] = cpu_seconds(child)
                n = done()
                while checkpoints and n >= checkpoints[0]:
                    print(
                        f"  {checkpoints.pop(0):>6} processed after {time.perf_counter() - started:5.0f} s: "
                        f"RSS {rss_mb(daemon.pid):.0f} MB, peak so far {peak:.0f} MB"
                    )
                if n >= args.process:
                    break
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
    elapsed = time.perf_counter() - started
    peaks = sorted(child_peaks.values(), reverse=True)
    sender_peak = peaks[0] if peaks else 0.0
    others = sum(peaks[1:])
    sender = max(child_peaks, key=child_peaks.__getitem__, default=None)
    print(
        f"peak RSS of mailbot run (sender: {args.sender}) with {args.messages} waiting, "
        f"{n} processed: {peak:.0f} MB; "
        f"its sender process: {sender_peak:.0f} MB; together {peak + sender_peak:.0f} MB "
        f"(target <= 200 MB); other children (multiprocessing's resource tracker): "
        f"{others:.0f} MB"
    )
    print(
        f"{n} processed in {elapsed:.0f} s; CPU: mailbot run {cpu.get(daemon.pid, 0.0):.1f} s, "
        f"its sender process {cpu.get(sender, 0.0) if sender else 0.0:.1f} s"
    )
    print(
        f"reproduce: uv run python bench/backlog_rss.py --messages {args.messages} "
        f"--process {args.process} --database {args.database} --sender {args.sender}"
    )


if __name__ == "__main__":
    main()
