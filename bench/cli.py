"""The command line's start-up: how long `mailbot` takes to answer the commands an admin types
most, on a SQLite database of N cases, next to Python itself (`python -c pass`) and to the
bare CLI framework (`python -c "import typer"`) measured in the same run.

    uv run python bench/cli.py --cases 1000 --runs 15
    git archive 6b323b3 mailbot | tar -x -C /tmp/before   # an older tree, for A/B
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
REFERENCES = {
    "python -c pass": (PYTHON, "-c", "pass"),
    "python -c 'import typer'": (PYTHON, "-c", "import typer"),
}


def commands(config: Path, number: str) -> dict[str, tuple[str, ...]]:
    with_config = (*MAILBOT, "--config", str(config))
    return {
        "mailbot --version": (*MAILBOT, "--version"),
        "mailbot --help": (*MAILBOT, "--help"),
        "mailbot workorders --help": (*MAILBOT, "workorders", "--help"),
        "mailbot workorders list --bogus (usage error)": (
            *MAILBOT,
            "workorders",
            "list",
            "--bogus",
        ),
        "mailbot workorders list": (*with_config, "workorders", "list"),
        f"mailbot workorders show {number}": (*with_config, "workorders", "show", number),
        "mailbot report register": (*with_config, "report", "register"),
        "mailbot check": (*with_config, "check"),
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


def time_once(argv: tuple[str, ...], cwd: Path, tree: Path | None) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1, 2):  # check fails on the absent relay; --bogus is 2
        raise RuntimeError(f"{' '.join(argv)}: exit {result.returncode}\n{result.stderr!r}")
    return elapsed


def measure(
    named: dict[str, tuple[tuple[str, ...], Path | None]], runs: int, cwd: Path
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in named}
    for argv, tree in named.values():  # warm the page cache
        time_once(argv, cwd, tree)
    for _ in range(runs):
        for name, (argv, tree) in named.items():
            times[name].append(time_once(argv, cwd, tree))
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
    named: dict[str, tuple[tuple[str, ...], Path | None]] = {
        name: (argv, None) for name, argv in REFERENCES.items()
    }
    for name, argv in commands(config, number).items():
        if args.baseline:
            compiled(args.baseline)
            named[f"{name} [before]"] = (argv, args.baseline.resolve())
        named[name] = (argv, None)
    times = measure(named, args.runs, work)
    floor = statistics.median(times["python -c pass"])
    typer_floor = statistics.median(times["python -c 'import typer'"])
    width = max(len(name) for name in named)
    print(f"{args.runs} runs each, commands alternated; median and fastest in seconds")
    print(f"{'command':<{width}}  median  fastest  x pass  x typer  x before")
    for name, values in times.items():
        median = statistics.median(values)
        before = times.get(f"{name} [before]")
        versus = f"{median / statistics.median(before):8.2f}" if before else ""
        print(
            f"{name:<{width}}  {median:6.3f}  {min(values):7.3f}  "
            f"{median / floor:6.1f}  {median / typer_floor:7.2f}  {versus}"
        )
    again = " --baseline DIR" if args.baseline else ""
    print(f"reproduce: uv run python bench/cli.py --cases {args.cases} --runs {args.runs}{again}")


if __name__ == "__main__":
    main()
