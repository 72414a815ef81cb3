"""mailbot against the helpdesk a municipality would install instead (django-helpdesk 2.6.1's
`get_email`) and against the minimal ingester, on one generated corpus in one Dovecot mailbox,
alternated A B C A B C …: issue 32's paired ratios.

    bench/peer/setup.sh                                   # once: the peer's venv (needs PyPI)
    uv run python bench/paired.py --n 500 --reps 3
    uv run python bench/paired.py --n 5000 --reps 1

Before each timed run Dovecot is stopped, its mailbox replaced by a fresh hard-linked copy of
the corpus (bench/peer/corpus.py: the generator of ../shared/bench, cached in bench/corpus/),
restarted and the mailbox opened once, so no run pays for indexing and each sees the same N
unseen messages; then the target's untimed set-up runs in an empty work directory. Timed: the
target's process from start to exit (wall; user and system CPU and peak RSS from wait4, which
covers the processes it waited for, as /usr/bin/time -v does). After each run its work orders
and the mails the SMTP sink (aiosmtpd, a process of its own, counting) accepted are checked:
a run that did not do its work is reported and the script exits 1.

Prints a Markdown table (medians over the rounds), the per-round wall-time ratios mailbot /
helpdesk and mailbot / minimal with their medians, and the issue's targets (≤ 0.5, ≤ 2.5).
On a machine shared with other work the paired ratio is the figure to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from peer import corpus as corpus_gen
from peer.sink import count as sink_count
from peer.targets import PEER_PYTHON, REPO, Corpus, Outcome, Target, all_targets

from common import PASSWORD, Dovecot
from support.servers import free_port

USER = "bench"
# issue 32's "done when": mailbot's wall time at most this share of the other's
GOALS = {"helpdesk": 0.5, "minimal": 2.5}


@dataclass
class Run:
    wall: float
    user: float
    system: float
    rss_mb: float
    dovecot: float  # Dovecot's CPU seconds during the run (master and its reaped children)
    outcome: Outcome
    problem: str


def paired_ratios(a: list[float], b: list[float]) -> list[float]:
    """Round by round: a[i] / b[i] (the two ran next to each other, on the same machine state)."""
    return [x / y for x, y in zip(a, b, strict=True)]


def verdict(ratio: float, goal: float) -> str:
    return "pass" if ratio <= goal else "fail"


class Mailbox:
    """A private Dovecot whose one mailbox is reset to the corpus before every run."""

    def __init__(self, root: Path, maildir: Path) -> None:
        self.dovecot = Dovecot(root)
        self.dovecot.add_user(USER, PASSWORD)
        self.maildir = maildir
        self.box = root / "mail" / USER

    def reset(self) -> int:
        """Dovecot stopped, the mailbox a fresh hard-linked copy (Dovecot only renames and
        unlinks Maildir files, never writes them), started, the mailbox opened once."""
        self.dovecot.stop()
        shutil.rmtree(self.box, ignore_errors=True)
        self.box.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-al", str(self.maildir), str(self.box)], check=True)
        if os.getuid() == 0:
            uid, gid = self.dovecot._mail_ids()
            subprocess.run(["chown", "-R", f"{uid}:{gid}", str(self.box)], check=True)
        self.dovecot.start()
        client = self.dovecot.client(USER, PASSWORD)
        exists = int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])
        client.fetch(client.search("ALL"), ["FLAGS", "RFC822.SIZE"])
        client.logout()
        time.sleep(0.3)  # its imap process reaped before the run's CPU is counted
        return exists

    def cpu(self) -> float:
        """CPU seconds of Dovecot's whole process group (its own session): the live processes
        and the ones they have reaped."""
        assert self.dovecot.process is not None
        group, ticks = self.dovecot.process.pid, 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:
                    ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")


class Sink:
    """bench/peer/sink.py in a process of its own."""

    def __init__(self) -> None:
        self.port, self.control = free_port(), free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "peer" / "sink.py"),
             "--port", str(self.port), "--control-port", str(self.control)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "READY":
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        return sink_count(self.control)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def timed(command: list[str], env: dict[str, str], work: Path, timeout: float) -> tuple:
    """Runs `command` in its own session; wall time, rusage of it and what it waited for."""
    with (work / "stdout").open("wb") as out, (work / "stderr").open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, cwd=work, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError):  # anything it left behind
        os.killpg(proc.pid, signal.SIGKILL)
    return wall, usage, proc.returncode


def run_target(
    target: Target, mailbox: Mailbox, sink: Sink, work: Path, corpus: Corpus, timeout: float
) -> Run:
    exists = mailbox.reset()
    if exists != corpus.n:
        raise RuntimeError(f"the mailbox holds {exists} messages, not {corpus.n}")
    work.mkdir(parents=True)
    env = {
        **os.environ,
        "BENCH_IMAP_HOST": "127.0.0.1",
        "BENCH_IMAP_PORT": str(mailbox.dovecot.port),
        "BENCH_IMAP_USER": USER,
        "BENCH_IMAP_PASSWORD": PASSWORD,
        "BENCH_SMTP_HOST": "127.0.0.1",
        "BENCH_SMTP_PORT": str(sink.port),
        "BENCH_WORKDIR": str(work),
        "BENCH_PEER_CACHE": str(work.parent),
    }
    target.prepare(work, env)
    before, served = sink.count(), mailbox.cpu()
    wall, usage, code = timed(target.command(work, env), env, work, timeout)
    time.sleep(0.2)  # the target's imap process ends with its connection: let it be reaped
    served = mailbox.cpu() - served
    stdout = (work / "stdout").read_text(errors="replace")
    if code != 0:
        tail = (work / "stderr").read_text(errors="replace")[-2000:]
        outcome, problem = Outcome(None, sink.count() - before), f"exit {code}: {tail}"
    else:
        outcome = target.outcome(work, stdout, sink.count() - before)
        problem = target.check(outcome, corpus)
    rss = usage.ru_maxrss / 1024
    return Run(wall, usage.ru_utime, usage.ru_stime, rss, served, outcome, problem)


def table(targets: list[Target], runs: dict[str, list[Run]], n: int) -> list[str]:
    lines = [
        "| target | wall s | msg/s | user CPU s | sys CPU s | peak RSS MB | Dovecot CPU s | work orders | mails at the sink | checked |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in targets:
        rs = runs[t.name]
        wall = statistics.median(r.wall for r in rs)
        orders = statistics.median(r.outcome.work_orders or 0 for r in rs)
        sink = statistics.median(r.outcome.sink for r in rs)
        ok = "ok" if not any(r.problem for r in rs) else "**FAILED**"
        lines.append(
            f"| {t.label} | {wall:.2f} | {n / wall:.1f} | "
            f"{statistics.median(r.user for r in rs):.2f} | "
            f"{statistics.median(r.system for r in rs):.2f} | "
            f"{statistics.median(r.rss_mb for r in rs):.0f} | "
            f"{statistics.median(r.dovecot for r in rs):.2f} | {orders:.0f} | {sink:.0f} | {ok} |"
        )
    return lines


def ratio_lines(runs: dict[str, list[Run]]) -> list[str]:
    """The issue's figure, wall time, and beside it the CPU time (user + system) of the same
    pairs: a run waiting on a loaded disk or core shows in the first only."""
    if "mailbot" not in runs:
        return []
    lines = ["| paired ratio (median of the rounds') | wall, per round | wall | issue 32 target | | CPU, per round | CPU |",
             "|---|---|---:|---:|---|---|---:|"]  # fmt: skip
    mine = runs["mailbot"]
    for other, goal in GOALS.items():
        if other not in runs:
            continue
        walls = paired_ratios([r.wall for r in mine], [r.wall for r in runs[other]])
        cpus = paired_ratios([r.user + r.system for r in mine],
                             [r.user + r.system for r in runs[other]])  # fmt: skip
        mid = statistics.median(walls)
        lines.append(
            f"| mailbot / {other} | {', '.join(f'{x:.2f}' for x in walls)} | **{mid:.2f}** | "
            f"≤ {goal} | {verdict(mid, goal)} | {', '.join(f'{x:.2f}' for x in cpus)} | "
            f"{statistics.median(cpus):.2f} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="messages in the corpus")
    parser.add_argument("--reps", type=int, default=3, help="rounds of A B C")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default="mailbot,helpdesk,minimal")
    parser.add_argument("--mailbot", type=Path, default=REPO / ".venv" / "bin" / "mailbot",
                        help="the mailbot executable (another tree's venv, for before/after)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a run may take")
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    args = parser.parse_args()
    known = all_targets(args.mailbot)
    targets = [known[name] for name in args.targets.split(",")]
    if "helpdesk" in args.targets and not PEER_PYTHON.exists():
        print("the peer's venv is missing: run bench/peer/setup.sh first", file=sys.stderr)
        return 2
    cdir = corpus_gen.ensure(args.n, args.seed, quiet=True)
    meta = json.loads((cdir / "meta.json").read_text())
    corpus = Corpus(meta["n"], meta["replies"])
    started, load = datetime.now(UTC), os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="mailbot-paired-"))
    os.chmod(tmp, 0o755)
    (tmp / "dovecot").mkdir()
    mailbox, sink = Mailbox(tmp / "dovecot", cdir / "Maildir"), Sink()
    runs: dict[str, list[Run]] = {t.name: [] for t in targets}
    clock = time.perf_counter()
    try:
        for rep in range(args.reps):
            for t in targets:  # A B C A B C …: each round's runs see the same machine state
                work = tmp / f"{t.name}-{rep}"
                run = run_target(t, mailbox, sink, work, corpus, args.timeout)
                runs[t.name].append(run)
                print(
                    f"[paired] round {rep + 1} {t.name}: {run.wall:.2f} s, "
                    f"{run.outcome.work_orders} work orders, {run.outcome.sink} mails at the sink"
                    f"{'; ' + run.problem if run.problem else ''}",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
                if not args.keep and not run.problem:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        sink.stop()
        mailbox.dovecot.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    mb = meta["bytes"] / 1e6
    print(
        f"\n### Paired run, {started:%Y-%m-%d %H:%M} UTC: N={corpus.n} messages "
        f"({mb:.1f} MB, {meta['bytes'] / corpus.n / 1e3:.0f} KB average, {meta['attachments']} "
        f"attachments, {corpus.replies} replies → {corpus.new_cases} new work orders), "
        f"medians of {args.reps} round(s) A B C\n"
    )
    print("\n".join(table(targets, runs, corpus.n)))
    print()
    print("\n".join(ratio_lines(runs)))
    end_load = os.getloadavg()
    print(
        f"\n{os.cpu_count()} cores; load average {load[0]:.1f} at the start, {end_load[0]:.1f} at "
        f"the end; {time.perf_counter() - clock:.0f} s in all. msg/s = N / median wall."
    )
    print(
        f"reproduce: uv run python bench/paired.py --n {args.n} --reps {args.reps} "
        f"--seed {args.seed}" + (f" --targets {args.targets}" if len(targets) < 3 else "")
    )
    problems = [f"{name} round {i + 1}: {r.problem}" for name, rs in runs.items()
                for i, r in enumerate(rs) if r.problem]  # fmt: skip
    for problem in problems:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
