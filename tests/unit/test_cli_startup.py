"""The command line answers at once (issue 32): `--help`, `--version` and a mistyped option are
answered without loading the database, the mail stack, the web stack or the log machinery; a
command that reads loads the database but not Alembic; what is loaded later behaves as before
(log configuration, the schema check and its message, option values checked). Timings are in
bench/cli.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mailbot import db

from support.app import REPO, run_cli, write_config

# What a command that needs none of them must not import: each costs 0.1-0.6 s to load.
HEAVY = {
    "sqlalchemy",
    "alembic",
    "sqlmodel",
    "pydantic",
    "jinja2",
    "flask",
    "werkzeug",
    "imapclient",
    "aiosmtplib",
    "mailparser",
    "structlog",
    "rich",
    "holidays",
    "reportlab",
}

# Runs `mailbot ARGS` in this interpreter, then writes the top-level packages it imported.
PROBE = """
import json, sys
args, out = json.loads(sys.argv[1]), sys.argv[2]
sys.argv = ["mailbot", *args]
try:
    from mailbot.cli import main
    main()
finally:
    with open(out, "w") as fh:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), fh)
"""


def imported_by(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    return done, set(json.loads(out.read_text()))


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--help",), 0),
        (("-h",), 0),
        (("--version",), 0),
        (("workorders", "--help"), 0),
        (("workorders", "reply", "-h"), 0),
        (("--config", "/nowhere.toml", "report", "register", "--help"), 0),
        (("workorders", "list", "--bogus"), 2),
        (("workorders", "show"), 2),
        (("no-such-command",), 2),
        ((), 2),
    ],
)
def test_help_version_and_usage_errors_load_nothing_heavy(tmp_path, args, code):
    done, modules = imported_by(tmp_path, *args)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert modules & HEAVY == set()


def test_every_command_group_answers_help_without_the_database(tmp_path):
    done, _ = imported_by(tmp_path, "--help")
    groups = [line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line]
    assert {"workorders", "inbound", "staff", "report", "db"} <= set(groups)
    for group in groups:
        shown, modules = imported_by(tmp_path, group, "--help")
        assert shown.returncode == 0 and "Usage: mailbot " + group in shown.stdout, group
        assert modules & HEAVY == set(), group


@pytest.fixture
def config(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert run_cli("--config", str(path), "db", "upgrade").returncode == 0
    return path


def test_a_command_that_reads_loads_the_database_but_not_alembic(tmp_path, config):
    done, modules = imported_by(tmp_path, "--config", str(config), "workorders", "list")
    assert done.returncode == 0, done.stderr
    assert "0 work order(s)" in done.stderr
    assert "sqlalchemy" in modules
    assert modules & {"alembic", "jinja2", "flask", "imapclient", "aiosmtplib"} == set()
    # The list reads through SQLAlchemy Core (cli/caselist.py) and prints without rich.
    assert modules & {"sqlmodel", "pydantic", "rich", "structlog", "holidays"} == set()


def test_a_database_behind_the_code_is_still_refused_with_the_same_words(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    done = run_cli("--config", str(config), "workorders", "list")
    head = db.head_revision(db.make_engine("sqlite://"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"mailbot: database schema is at nothing, not the current {head}: run `mailbot db upgrade`"
    )


def test_the_schema_check_agrees_with_alembic(tmp_path, config):
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from mailbot import config as config_module

    engine = db.make_engine(config_module.load(config).database.url)
    head = ScriptDirectory.from_config(db._alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    assert db.head_revision(engine) == head
    assert db.current_revision(engine) == current == head
    assert db.current_revision(db.make_engine("sqlite://")) is None  # never upgraded


def test_case_statuses_offered_are_the_case_records_own():
    from mailbot.cases import workorders
    from mailbot.cli.app import CaseStatus

    assert [s.value for s in CaseStatus] == [
        workorders.OPEN,
        workorders.SUSPENDED,
        workorders.CLOSED,
    ]


def test_log_configuration_made_before_structlog_loads_applies_when_it_does():
    script = (
        "import sys\n"
        "from mailbot import log\n"
        "log.configure('WARNING', json=True)\n"
        "assert 'structlog' not in sys.modules\n"
        "logger = log.get_logger('probe')\n"
        "logger.info('not shown')\n"
        "logger.warning('shown', sender='mario.rossi@example.net')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    record = json.loads(line)
    assert record["event"] == "shown" and record["level"] == "warning"
    assert record["sender"] == "m***@example.net"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--log-level", "loud", "--help"), None),
        (("inbound", "list", "--limit", "many"), "Invalid value for '--limit'"),
        (("workorders", "list", "--status", "shut"), "Invalid value for '--status'"),
    ],
)
def test_option_values_are_still_converted_and_checked(config, args, message):
    done = run_cli("--config", str(config), *args)
    if message is None:  # eager --help answers before values are looked at, as before
        assert done.returncode == 0 and "Usage: mailbot" in done.stdout
        return
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


# The `mailbot` console script as installers write it, with a spawned child (as the daemon's
# sender process is) that says whether it loaded the command line (typer).
CONSOLE_SCRIPT = """
import multiprocessing, sys
from mailbot.cli import declare_package_main, main
if __name__ == "__main__":
    if sys.argv[1] == "declared":
        declare_package_main()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        print(pool.apply(eval, ("'typer' in __import__('sys').modules",)))
"""


def test_the_daemons_spawned_processes_do_not_load_the_command_line(tmp_path):
    script = tmp_path / "mailbot"
    script.write_text(CONSOLE_SCRIPT)

    def child_loads(mode: str) -> str:
        run = [sys.executable, str(script), mode]
        return subprocess.run(run, capture_output=True, text=True, timeout=60, check=True).stdout

    assert child_loads("as-installed").strip() == "True"  # the script ran again
    assert child_loads("declared").strip() == "False"
