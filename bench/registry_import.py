"""Registry import at scale: generates an export of N taxpayers (valid codici fiscali and
partite IVA, Italian `;` CSV in Windows-1252 with one to three addresses each, some shared),
imports it with `mailbot registry import` into a fresh SQLite database and, alternated in the
same run, with the minimal importer (`registry_minimal.py`: csv module, check characters, one
SQLite transaction, mailbot's tables and indexes) into another; then imports it again with
mailbot (everything unchanged), and times address look-ups.

    uv run python bench/registry_import.py --rows 1000000 --reps 3

Prints each run's wall time and peak memory (VmHWM), the medians and the paired ratio
mailbot / minimal (the median of the per-repetition ratios), rows/s of the unchanged import,
and the mean and worst time of a look-up by address and of a similar-name search.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stdnum import luhn  # noqa: E402
from stdnum.it import codicefiscale  # noqa: E402

SURNAMES = (
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
    "De\u00a0Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani "
    "Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra "
    "Coppola De\u00a0Santis D'Angelo Marchetti Parisi Villa Conte Ferraro Ferri Fabbri Bianco"
).split()
NAMES = (
    "Mario Giuseppe Luca Marco Francesco Andrea Giovanni Paolo Anna Maria Giulia Francesca "
    "Laura Sara Chiara Elena Lucia Niccolò Caterina Federica Alessandro Davide Matteo Lorenzo"
).split()
MONTHS = "ABCDEHLMPRST"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CPU: list[float] = []  # CPU seconds of each command peak_rss_mb ran


def codice_fiscale(rng: random.Random) -> str:
    head = "".join(rng.choice(LETTERS) for _ in range(6))
    body = f"{rng.randint(40, 99):02d}{rng.choice(MONTHS)}{rng.randint(1, 28):02d}"
    town = rng.choice(LETTERS) + f"{rng.randint(100, 999)}"
    code = head + body + town
    return code + codicefiscale.calc_check_digit(code)


def partita_iva(rng: random.Random) -> str:
    digits = f"{rng.randint(1, 9_999_999):07d}{rng.randint(1, 100):03d}"
    return digits + luhn.calc_check_digit(digits)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    seen: set[str] = set()
    with path.open("w", encoding="cp1252", newline="") as fh:
        fh.write("CODICE_FISCALE;COGNOME;NOME;EMAIL;PEC;INDIRIZZO\r\n")
        written = 0
        while written < rows:
            company = rng.random() < 0.15
            code = partita_iva(rng) if company else codice_fiscale(rng)
            if code in seen:
                continue
            seen.add(code)
            surname = rng.choice(SURNAMES).replace("\u00a0", " ")
            name = "" if company else rng.choice(NAMES)
            if company:
                surname = f"{surname} Costruzioni S.R.L."
            slug = f"{surname}.{name}".lower().replace(" ", "").replace("'", "")
            emails = [f"{slug}{written}@example.it"]
            if rng.random() < 0.3:
                emails.append(f"{slug}.{written}@posta.example.net")
            if rng.random() < 0.05:
                emails.append(f"famiglia{written // 3}@example.org")  # shared in a family
            pec = f"{slug}{written}@pec.example.it" if rng.random() < 0.4 else ""
            fh.write(
                f'{code};{surname};{name};"{" ".join(emails)}";{pec};'
                f'"Via Roma {written % 200 + 1}, 10100 Torino"\r\n'
            )
            written += 1


def peak_rss_mb(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB from /proc VmHWM, stdout) of one command; its CPU time (with
    its children's) goes to `CPU`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        cwd=tempfile.gettempdir(),  # `-m` puts the working directory first: not this tree
    )
    peak = 0.0
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return time.perf_counter() - started, peak, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3, help="alternated pairs of first imports")
    parser.add_argument(
        "--baseline",
        help="an older tree (git archive REV | tar -x -C DIR): its import alternated too",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbot-registry-bench-"))
    try:
        run(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, args: argparse.Namespace) -> None:
    export = work / "anagrafe.csv"
    started = time.perf_counter()
    generate(export, args.rows)
    print(
        f"export: {args.rows} rows, {export.stat().st_size / 1e6:.1f} MB "
        f"(generated in {time.perf_counter() - started:.1f} s)"
    )
    (work / "maildir").mkdir()
    config = work / "mailbot.toml"
    config.write_text(
        f"""
[database]
url = "sqlite:///{work}/mailbot.db"
[storage]
path = "{work}/store"
[smtp]
from_address = "suggerimenti@comune.example.it"
[registry.columns]
codice_fiscale = "codice_fiscale"
name = ["cognome", "nome"]
email = "email"
pec = "pec"
postal_address = "indirizzo"
[[mailboxes]]
name = "suggerimenti"
source = "maildir"
path = "{work}/maildir"
office = "urp"
[[offices]]
id = "urp"
name = "URP"
email = "urp@comune.example.it"
"""
    )
    env = {**os.environ}
    cli = [sys.executable, "-m", "mailbot", "--config", str(config)]
    database = work / "mailbot.db"
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True, env=env)
    shutil.copy(database, work / "schema.db")  # the empty schema every first import starts from
    minimal = [sys.executable, str(REPO / "bench" / "registry_minimal.py"), str(export)]
    commands = {
        "mailbot": ([*cli, "registry", "import", str(export)], env),
        "minimal": ([*minimal, str(work / "minimal.db"), str(work / "schema.db")], env),
    }
    if args.baseline:  # an older tree's mailbot, same venv, its own database
        before = work / "before.toml"
        before.write_text(config.read_text().replace("/mailbot.db", "/before.db"))
        old_cli = [sys.executable, "-m", "mailbot", "--config", str(before)]
        old_env = {**env, "PYTHONPATH": str(Path(args.baseline).resolve())}
        commands["before"] = ([*old_cli, "registry", "import", str(export)], old_env)
    times: dict[str, list[float]] = {who: [] for who in commands}
    for rep in range(args.reps):
        order = list(commands) if rep % 2 == 0 else list(reversed(commands))
        for who in order:
            for old in work.glob(f"{who}.db*"):
                old.unlink()
            if who != "minimal":
                shutil.copy(work / "schema.db", work / f"{who}.db")
            command, command_env = commands[who]
            seconds, peak, out = peak_rss_mb(command, command_env)
            times[who].append(seconds)
            print(
                f"rep {rep + 1} {who}: {seconds:.1f} s, CPU {CPU[-1]:.1f} s, peak {peak:.0f} MB "
                f"({out.splitlines()[0]})"
            )
    for who, values in times.items():
        print(f"first import, {who}: median {statistics.median(values):.1f} s of {len(values)}")
    for who in ("mailbot", "before")[: len(commands) - 1]:
        ratios = [a / b for a, b in zip(times[who], times["minimal"], strict=True)]
        print(
            f"paired ratio {who} / minimal: median {statistics.median(ratios):.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)})"
        )
    seconds, peak, out = peak_rss_mb([*cli, "registry", "import", str(export)], env)
    print(
        f"second import (all unchanged): {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s, "
        f"peak {peak:.0f} MB ({out.splitlines()[0]})"
    )
    lookups(database, args.rows, args.lookups)
    extra = f" --baseline {args.baseline}" if args.baseline else ""
    print(
        f"command: uv run python bench/registry_import.py --rows {args.rows} --reps {args.reps}{extra}"
    )


def lookups(database: Path, rows: int, count: int) -> None:
    import sqlalchemy as sa
    from sqlmodel import Session

    from mailbot.db import make_engine
    from mailbot.matching import registry
    from mailbot.models import TaxpayerAddress

    engine = make_engine(f"sqlite:///{database}")
    rng = random.Random(3)
    with Session(engine) as session:
        sample = sa.select(TaxpayerAddress.address).order_by(sa.func.random()).limit(count)
        addresses = list(session.execute(sample).scalars())
        timings = []
        for address in addresses:
            started = time.perf_counter()
            found = registry.taxpayers_with_address(session, address)
            timings.append(time.perf_counter() - started)
            assert found
        names = []
        for _ in range(200):
            started = time.perf_counter()
            registry.similar_names(session, f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}", 90)
            names.append(time.perf_counter() - started)
    print(
        f"look-up by address ({len(timings)}): mean {statistics.mean(timings) * 1e3:.3f} ms, "
        f"worst {max(timings) * 1e3:.3f} ms"
    )
    print(
        f"similar-name search (200, registry of {rows}): mean {statistics.mean(names) * 1e3:.1f} ms, "
        f"worst {max(names) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
