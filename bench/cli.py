"""The command line's start-up: how long `mailbot` takes to answer the commands an admin types
most, on a SQLite database of N cases, next to Python itself (`python -c pass`) and to the
bare CLI framework (`python -c "import typer"`) measured in the same run.

    uv run python bench/cli.py --cases 1000 --runs 15
    git archive 6b323b3 mailbot templates | tar -x -C /tmp/before   # an older tree, for A/B
    uv run python bench/cli.py --baseline /tmp/before

Every command is run `--runs` times, the commands taking turns (one round runs each once) so
that a busy neighbour slows them all alike; prints the median and the fastest run of each, and
its ratio to `python -c pass` and to `import typer` (medians). With `--baseline DIR` each
mailbot command also runs from the `mailbot` package in DIR (first on PYTHONPATH), alternated
with this tree's, on the same database, and the ratio after/before is printed. Both trees and
the virtualenv are run from compiled bytecode, as an installed mailbot is (the script compiles
the trees; `uv sync --compile-bytecode` does the virtualenv, as scripts/test does): with
PYTHONDONTWRITEBYTECODE set and no .pyc, every start compiles every module it imports again.
Issue 32 asks for `--version` and `--help` ≤ 0.15 s and `workorders list` on 1,000 cases ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("MAILBOT_TEST_DATABASE", "sqlite")

from mailbot import log  # noqa: E402

from support.app import complaint, make_process, make_services, write_config  # noqa: E402

PYTHON = sys.executable
MAILBOT = (PYTHON, "-m", "mailbot")
Command = tuple[tuple[str, ...], int]  # argv, the exit code it must end with
REFERENCES: dict[str, Command] = {
    "python -c pass": ((PYTHON, "-c", "pass"), 0),
    "python -c 'import typer'": ((PYTHON, "-c", "import typer"), 0),
}


def commands(config: Path, number: str) -> dict[str, Command]:
    with_config = (*MAILBOT, "--config", str(config))
    return {
        "mailbot --version": ((*MAILBOT, "--version"), 0),
        "mailbot --help": ((*MAILBOT, "--help"), 0),
        "mailbot workorders --help": ((*MAILBOT, "workorders", "--help"), 0),
        "mailbot workorders list --bogus": ((*MAILBOT, "workorders", "list", "--bogus"), 2),
        "mailbot workorders list": ((*with_config, "workorders", "list"), 0),
        f"mailbot workorders show {number}": ((*with_config, "workorders", "show", number), 0),
        "mailbot report register --year 2026": (
            (*with_config, "report", "register", "--year", "2026"),
            0,
        ),
        "mailbot check (no relay: 1)": ((*with_config, "check"), 1),
    }


def fill(config: Path, cases: int) -> str:
    """`cases` complaints through the pipeline; returns the first case's number."""
    log.configure("WARNING")
    services = make_services(config)
    process = make_process(services)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for n in range(cases):
        process(complaint(n), received_at=start + timedelta(minutes=n))
    services.engine.dispose()
    return "2026/000001"


def time_once(
    command: Command, cwd: Path, tree: Path | None, printed: dict[str, bytes] | None = None
) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run: the CPU time is what a busy
    neighbour on the machine changes least."""
    argv, expected = command
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != expected:
        raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}\n{result.stderr!r}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if printed is not None:  # the tree's own path (`check` names its templates) aside
        text = result.stdout + b"\0" + result.stderr
        for root in {str(tree or ""), str(REPO), os.environ.get("PYTHONPATH", "")} - {""}:
            text = text.replace(os.fsencode(root), b"TREE")
        printed[" ".join(argv)] = text
    return elapsed, cpu


def measure(
    named: dict[str, tuple[Command, Path | None]],
    runs: int,
    cwd: Path,
    printed: dict[str, dict[str, bytes]],
) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in named}
    for name, (command, tree) in named.items():  # warm the page cache; keep what it printed
        printed[name] = {}
        time_once(command, cwd, tree, printed[name])
    for _ in range(runs):
        for name, (command, tree) in named.items():
            times[name].append(time_once(command, cwd, tree))
    return times


def compiled(tree: Path) -> None:
    compileall.compile_dir(tree / "mailbot", quiet=1)
    typer_cache = Path(__import__("typer").__file__).parent / "__pycache__"
    if not typer_cache.is_dir():
        print("warning: the virtualenv has no bytecode: run `uv sync --frozen --compile-bytecode`")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--baseline", type=Path, help="a tree holding an older mailbot/")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbot-cli-bench-"))
    try:
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args: argparse.Namespace) -> None:
    config = write_config(work / "mailbot.toml", smtp_port=9)  # no relay: check says so, fast
    started = time.perf_counter()
    number = fill(config, args.cases)
    print(f"database: SQLite, {args.cases} cases (filled in {time.perf_counter() - started:.1f} s)")
    compiled(REPO)
    named: dict[str, tuple[Command, Path | None]] = {
        name: (command, None) for name, command in REFERENCES.items()
    }
    for name, command in commands(config, number).items():
        if args.baseline:
            compiled(args.baseline)
            named[f"{name} [before]"] = (command, args.baseline.resolve())
        named[name] = (command, None)
    printed: dict[str, dict[str, bytes]] = {}
    times = measure(named, args.runs, work, printed)

    def median(name: str, which: int) -> float:
        return statistics.median(t[which] for t in times[name])

    def paired(name: str, before: str) -> float:  # the figure a noisy neighbour moves least
        return statistics.median(
            a[0] / b[0] for a, b in zip(times[name], times[before], strict=True)
        )

    floor, typer_floor = median("python -c pass", 0), median("python -c 'import typer'", 0)
    width = max(len(name) for name in named)
    print(f"{args.runs} runs each, commands alternated; seconds: median and fastest wall time,")
    print("median CPU time (user + system); ratios of the median wall times")
    print("x before: ratio of the medians; paired: median of each round's after/before")
    print(f"{'command':<{width}}  median  fastest     cpu  x pass  x typer  x before  paired")
    for name, values in times.items():
        wall = median(name, 0)
        before = f"{name} [before]"
        versus = (
            f"{wall / median(before, 0):8.2f}  {paired(name, before):6.2f}"
            if before in times
            else ""
        )
        print(
            f"{name:<{width}}  {wall:6.3f}  {min(t[0] for t in values):7.3f}  "
            f"{median(name, 1):6.3f}  {wall / floor:6.1f}  {wall / typer_floor:7.2f}  {versus}"
        )
    if args.baseline:  # `show` records each view, so its event log grows run after run
        same = [n for n in printed if f"{n} [before]" in printed and "show" not in n]
        differ = [n for n in same if printed[n] != printed[f"{n} [before]"]]
        print(f"stdout and stderr as before: {len(same) - len(differ)} of {len(same)} commands")
        for name in differ:
            print(f"  DIFFERS: {name}")
    again = " --baseline DIR" if args.baseline else ""
    print(f"reproduce: uv run python bench/cli.py --cases {args.cases} --runs {args.runs}{again}")


if __name__ == "__main__":
    main()
