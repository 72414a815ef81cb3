"""Configs, services and helpers on a throw-away database: `write_config`, `make_services`,
`make_process` (a fixture through the pipeline as Maildir mail), `run_cli`, `Daemon` (`mailbot
run` as a subprocess), `complaint`, `rows`. The database is SQLite, or with
MAILBOT_TEST_DATABASE=postgresql a database of its own in a throw-away PostgreSQL cluster that
the session starts (Debian's initdb/pg_ctl) for every config written: the whole suite runs on
both (scripts/test does both runs)."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from mailbot import config as config_module
from mailbot import db
from mailbot.models import InboundMessage, OutboundMessage, WorkOrder
from mailbot.pipeline import process_inbound
from mailbot.services import Services, build_services
from mailbot.storage import Store, load_or_create_secret
from mailbot.types import Origin, Outcome

from support import clock
from support.servers import Postgres

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"


REPO = Path(__file__).resolve().parents[2]


IMAP_PASSWORD = "s3cret-imap"


TEST_DATABASE = os.environ.get("MAILBOT_TEST_DATABASE", "sqlite")


if TEST_DATABASE not in {"sqlite", "postgresql"}:
    raise RuntimeError(f"MAILBOT_TEST_DATABASE={TEST_DATABASE!r}: sqlite or postgresql")


_postgres: Postgres | None = None


_databases: dict[Path, str] = {}


def postgres_cluster() -> Postgres:
    """The session's PostgreSQL cluster, started on first use, stopped at exit."""
    global _postgres
    if _postgres is None:
        cluster = Postgres(Path(tempfile.mkdtemp(prefix="mailbot-pg-")))
        cluster.start()
        atexit.register(lambda: (cluster.stop(), shutil.rmtree(cluster.root, True)))
        _postgres = cluster
    return _postgres


def database_url(base: Path) -> str:
    """The database of a test directory, empty at first: SQLite in `base`, or a PostgreSQL
    database of its own (the same one each time a config is rewritten in `base`)."""
    if TEST_DATABASE == "sqlite":
        return f"sqlite:///{base}/mailbot.db"
    if base not in _databases:
        name = f"t{os.getpid()}_{len(_databases) + 1}"
        _databases[base] = postgres_cluster().create_database(name)
    return _databases[base]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def write_config(
    path: Path,
    *,
    mailbox: dict[str, Any] | None = None,
    smtp_port: int = 25,
    transport: str = "smtp",
    extra: str = "",
    mailbox_smtp: dict[str, Any] | None = None,
) -> Path:
    """A complete config file in `path`'s directory; mailbox keys override a Maildir default;
    `mailbox_smtp`: the mailbox's own outbound account ([mailboxes.smtp])."""
    base = path.parent
    box = mailbox or {"source": "maildir", "path": str(base / "maildir")}
    lines = "\n".join(f"{k} = {_toml(v)}" for k, v in box.items())
    if mailbox_smtp is not None:
        lines += "\n[mailboxes.smtp]\n" + "\n".join(
            f"{k} = {_toml(v)}" for k, v in mailbox_smtp.items()
        )
    path.write_text(
        f"""
timezone = "Europe/Rome"
{extra}
[database]
url = "{database_url(base)}"
[storage]
path = "{base}/store"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
from_address = "suggerimenti@comune.example.it"
from_name = "Comune di Esempio - URP"
[outbox]
transport = "{transport}"
directory = "{base}/sent"
retry_base_seconds = 0
[[mailboxes]]
name = "suggerimenti"
office = "urp"
{lines}
[[offices]]
id = "urp"
name = "Ufficio Relazioni con il Pubblico"
email = "urp@comune.example.it"
operators = ["mario.rossi@comune.example.it"]
response_days = 30
""",
        encoding="utf-8",
    )
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_services(config_path: Path) -> Services:
    settings = config_module.load(config_path)
    _start_migrated(settings.database.url)
    engine = db.make_engine(settings.database.url)
    if db.current_revision(engine) != db.head_revision(engine):
        db.upgrade(engine)
    store = Store(settings.storage.path)
    store.ensure()
    return build_services(settings, engine, store, load_or_create_secret(settings.storage.path))


_migrated: dict[str, str] = {}  # backend → the session's migrated template (file or database)


def _start_migrated(url: str) -> None:
    """A test's database that nothing has written yet starts as a copy of one migrated once
    per session (a file copied, or PostgreSQL's CREATE DATABASE … TEMPLATE), instead of
    running every migration again: ~0.2 s a test on SQLite, ~0.3 s on PostgreSQL. The
    migrations themselves are tested where a test upgrades a database on its own (`db
    upgrade`, `mailbot run`); the copy is what that upgrade made."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists() or not path.parent.is_dir():
            return
        if "sqlite" not in _migrated:
            template = Path(tempfile.mkdtemp(prefix="mailbot-template-")) / "template.db"
            engine = db.make_engine(f"sqlite:///{template}")
            db.upgrade(engine)
            engine.dispose()  # the last connection checkpoints the WAL into the file
            atexit.register(shutil.rmtree, template.parent, True)
            _migrated["sqlite"] = str(template)
        shutil.copyfile(_migrated["sqlite"], path)
        return
    name = url.rsplit("/", 1)[-1]
    if url not in _databases.values() or not _empty(url):
        return
    cluster = postgres_cluster()
    if "postgresql" not in _migrated:
        template_url = cluster.create_database("t_template")
        engine = db.make_engine(template_url)
        db.upgrade(engine)
        engine.dispose()
        _migrated["postgresql"] = "t_template"
    cluster.replace_database(name, _migrated["postgresql"])


def _empty(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names()
    finally:
        engine.dispose()


_refs = itertools.count(1)


def maildir_services(base: Path, smtp_port: int) -> tuple[Services, Path]:
    """Services on the default config with its Maildir mailbox made, and that mailbox's path."""
    (base / "maildir").mkdir()
    services = make_services(write_config(base / "mailbot.toml", smtp_port=smtp_port))
    box = services.settings.mailboxes[0].path
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(exist_ok=True)
    return services, box


def make_process(services: Services) -> Callable[..., Outcome]:
    """process("citizen_plain.eml") runs one fixture (or raw bytes) through the pipeline as
    Maildir mail, received at 2 March 2026 09:00 UTC unless told otherwise."""

    def run(name_or_bytes: str | bytes, received_at: datetime | None = None) -> Outcome:
        raw = fixture_bytes(name_or_bytes) if isinstance(name_or_bytes, str) else name_or_bytes
        origin = Origin(
            mailbox="suggerimenti",
            received_at=received_at or datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            source_ref=f"test-{next(_refs)}",
        )
        return process_inbound(services, raw, origin)

    return run


def complaint(n: int, subject: str = "") -> bytes:
    """Citizen n's complaint, a plain email of its own Message-ID."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = f"Cittadino {n} <cittadino{n}@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject or f"Reclamo {n}"
    msg["Message-ID"] = f"<reclamo-{n}@example.net>"
    msg.set_content(f"Reclamo numero {n}.")
    return msg.as_bytes()


def citizen_reply(row: Any, body: str, n: int) -> bytes:
    """Mario Bianchi's n-th reply to the sent message `row` (an OutboundMessage), quoting it."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Mario Bianchi <mario.bianchi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Re: pratica chiusa"
    msg["Message-ID"] = f"<risposta-{n}@example.net>"
    msg["In-Reply-To"] = row.message_id
    msg.set_content(body + "\n\n> la Sua pratica è stata chiusa\n")
    return msg.as_bytes()


def sent(services: Services, kind: str) -> list[Any]:
    """The outbox rows of one kind (confirmation, relay, notice…), oldest first."""
    from mailbot.models import OutboundMessage

    return [o for o in rows(services, OutboundMessage) if o.kind == kind]


def rows(services: Services, model: type[Any]) -> list[Any]:
    """Every row of a table in primary-key order (PostgreSQL promises no order without one)."""
    with Session(services.engine) as session:
        return list(session.exec(select(model).order_by(*model.__table__.primary_key.columns)))


def counts(services: Services) -> tuple[int, int, int]:
    """(ledger rows, work orders, outbox rows)"""
    return (
        len(rows(services, InboundMessage)),
        len(rows(services, WorkOrder)),
        len(rows(services, OutboundMessage)),
    )


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {
        **os.environ,
        "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD,
        **clock.subprocess_env(),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "mailbot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=timeout,
    )


@contextmanager
def serving(config: Path, command: str) -> Iterator[subprocess.Popen[str]]:
    """`mailbot --config CONFIG COMMAND` (web, backoffice) in the foreground, as a unit would
    run it; killed at the end if the test did not stop it. Its stderr is a pipe to read."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), command],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **clock.subprocess_env()},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def cli_bytes(*args: str) -> bytes:
    """stdout of a CLI run, byte for byte (no newline translation)."""
    env = {**os.environ, "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD}
    result = subprocess.run(
        [sys.executable, "-m", "mailbot", *args],
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def imap_mailbox(port: int, user: str, **extra: Any) -> dict[str, Any]:
    """The [[mailboxes]] keys of an IMAP mailbox on the test Dovecot."""
    return {
        "source": "imap",
        "host": "127.0.0.1",
        "port": port,
        "username": user,
        "password_env": "MAILBOT_IMAP_PASSWORD",
        **extra,
    }


class Daemon:
    """`mailbot run` as a subprocess whose log lines (stderr) are collected as they come."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={
                **os.environ,
                "MAILBOT_IMAP_PASSWORD": IMAP_PASSWORD,
                **clock.subprocess_env(),
                **(env or {}),
            },
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for_log(self, event: str, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(f'"event": "{event}"' in line for line in self.lines) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {event!r} log line within {timeout}s:\n{self.log}")

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            # Every thread's stack (faulthandler on SIGUSR1) and the log, to see where it hangs.
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
            self.kill()
            self._reader.join(timeout=5)
            raise AssertionError(
                f"mailbot run did not stop within {timeout}s:\n{self.log}"
            ) from exc
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
