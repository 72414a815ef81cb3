"""Mail intake under a flood of refused web submissions: `mailbot run` with `[web] listen`
files N complaints from a real Dovecot, first with nobody at the form (the reference), then,
in the same run, N more while a client posts forged forms at a bounded rate (no valid CSRF
token, a 200 KB body each: refused, then throttled), in alternated rounds. Prints both filing
times (first case filed to last, medians) and their ratio; the target is within 10% (issue 28:
46 s instead of 6 s for 200 mails when the form shared the daemon's process).

    uv run python bench/web_flood.py --messages 200 --rate 10 --rounds 3
"""

from __future__ import annotations

import argparse
import collections
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from common import cpu_seconds, filed_and_sent, fill_mailbox, mailbot_process, servers, use_database

FLOOD_BODY = b"x" * 200_000


def flood(
    url: str, rate: float, stop: threading.Event, answers: collections.Counter[object]
) -> None:
    """Forged forms at `rate` a second, from 4 workers, until `stop`."""
    boundary = "floodboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="subject"\r\n\r\nBuca\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        ).encode()
        + FLOOD_BODY
        + f"\r\n--{boundary}--\r\n".encode()
    )
    interval = 4 / rate

    def worker() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            request = urllib.request.Request(
                url,
                data=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    answers[answer.status] += 1
            except urllib.error.HTTPError as exc:
                answers[exc.code] += 1
            except OSError as exc:
                answers[type(exc).__name__] += 1
            stop.wait(max(0.0, interval - (time.perf_counter() - began)))

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def filing_time(
    config: Path, engine: Any, messages: int, url: str, rate: float
) -> tuple[float, str]:
    """Seconds from the first case filed to the last, with a flood at `rate` (0: none)."""
    daemon = mailbot_process(config, "run")
    stop = threading.Event()
    answers: collections.Counter[object] = collections.Counter()
    flooder = threading.Thread(target=flood, args=(url, rate, stop, answers), daemon=True)
    first = last = 0.0
    try:
        if rate:  # from the moment the form answers (before the mailbox loops start)
            from support.servers import wait_for_port

            wait_for_port(int(url.rsplit(":", 1)[1].strip("/")), timeout=60)
            flooder.start()
        while True:
            time.sleep(0.05)
            filed, _ = filed_and_sent(engine)
            now = time.perf_counter()
            if filed and not first:
                first = now
            if filed >= messages:
                last = now
                break
            if daemon.poll() is not None:
                raise SystemExit(f"mailbot run exited ({daemon.returncode}): {filed} filed")
        cpu = cpu_seconds(daemon.pid)
    finally:
        stop.set()
        daemon.terminate()
        daemon.wait(timeout=60)
        if rate:
            flooder.join(timeout=15)
    seen = ", ".join(f"{n} {code}" for code, n in sorted(answers.items(), key=str))
    return last - first, f"daemon CPU {cpu:.1f} s" + (f"; flood answers: {seen}" if seen else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="forged forms a second")
    parser.add_argument("--rounds", type=int, default=3, help="quiet and flooded, alternated")
    args = parser.parse_args()
    use_database("sqlite")

    from support.app import imap_mailbox, make_services, write_config
    from support.servers import free_port

    plan = [(f"{kind}{n}", rate) for n in range(args.rounds) for kind, rate in
            (("quiet", 0.0), ("flooded", args.rate))]  # fmt: skip
    times: dict[str, list[float]] = {"quiet": [], "flooded": []}
    with servers([user for user, _ in plan], sink_process=True) as bench:
        for user, rate in plan:
            fill_mailbox(bench.dovecot, user, args.messages, seed=28)
            (bench.work / user).mkdir()
            port = free_port()
            config = write_config(
                bench.work / user / "mailbot.toml",
                smtp_port=bench.smtp.port,
                mailbox=imap_mailbox(bench.dovecot.port, user),
                extra=f'[web]\nlisten = "127.0.0.1:{port}"\n',
            )
            engine = make_services(config).engine
            elapsed, detail = filing_time(
                config, engine, args.messages, f"http://127.0.0.1:{port}/", rate
            )
            engine.dispose()
            times[user.rstrip("0123456789")].append(elapsed)
            print(f"  {user}: {elapsed:.2f} s ({detail})", flush=True)
    quiet, flooded = statistics.median(times["quiet"]), statistics.median(times["flooded"])
    print(f"{args.messages} mails filed by mailbot run with [web] listen, SQLite, median of "
          f"{args.rounds} rounds (first case filed to last)")  # fmt: skip
    print(f"  no visitor:                   {quiet:.2f} s")
    print(f"  {args.rate:g} forged forms a second:   {flooded:.2f} s")
    print(f"ratio flooded / quiet: {flooded / quiet:.2f} (target ≤ 1.10)")
    print(
        f"reproduce: uv run python bench/web_flood.py --messages {args.messages} "
        f"--rate {args.rate:g} --rounds {args.rounds}"
    )


if __name__ == "__main__":
    main()
