"""The command line's common ground: the Typer app and its command groups, the options
several commands share, and the helpers every command uses to read the config, open the
database, build the services and print (safely, see terminal.py).

Nothing here imports the database, the config reader or a mail library at module level:
`mailbot --help` and a mistyped option are answered from Typer alone, and each command
imports what it uses inside its function (see __init__.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailbot import log, terminal
from mailbot.errors import ConfigError, InputError, TransientError
from mailbot.types import LedgerStatus

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from mailbot.config import Settings
    from mailbot.services import Services
    from mailbot.types import Attachment

# Plain help (no rich markup: it ate "[retention]" and "[limits]"), -h as well as --help.
_HELP = {"help_option_names": ["-h", "--help"]}


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text, no_args_is_help=True, rich_markup_mode=None, context_settings=_HELP
    )


app = typer.Typer(
    help="mailbot: complaints and suggestions by email and PEC, into work orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=_HELP,
)
db_app = _group("Database schema.")
registry_app = _group("Taxpayer registry.")
workorders_app = _group("Work orders (pratiche).")
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(workorders_app, name="workorders")
inbound_app = _group("What arrived, and what became of it.")
quarantine_app = _group("Messages that could not be processed.")
app.add_typer(inbound_app, name="inbound")
app.add_typer(quarantine_app, name="quarantine")
spam_app = _group("Mail held as spam: look, and release false positives.")
app.add_typer(spam_app, name="spam")
report_app = _group("The service charter's register and reports.")
app.add_typer(report_app, name="report")
contact_app = _group("What is held about a person (GDPR).")
app.add_typer(contact_app, name="contact")
actions_app = _group("Corrective actions that cases led to (#azione), and their check.")
app.add_typer(actions_app, name="actions")
refunds_app = _group("What the charter owes citizens (late replies, founded complaints).")
app.add_typer(refunds_app, name="refunds")
staff_app = _group(
    "The institution's people and their roles (operator, responsible, supervisor, desk, admin)."
)
app.add_typer(staff_app, name="staff")

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $MAILBOT_CONFIG, else ./mailbot.toml)."
    ),
]


class State:
    config: str | None = None
    # `run --once` is over and has closed what it opened: the console script leaves without
    # the interpreter's teardown (cli.main)
    leave_at_once: bool = False


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class CaseStatus(StrEnum):  # cases/workorders.py's OPEN, SUSPENDED, CLOSED (a test checks)
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"


EntryChannel = StrEnum(  # type: ignore[misc]  # the channels a case can be typed in from
    "EntryChannel", {c.upper(): c for c in ("sportello", "posta", "fax", "telefono", "web")}
)

InboundStatus = StrEnum(  # type: ignore[misc]  # the ledger's statuses, as choices
    "InboundStatus", {status.name: status.value for status in LedgerStatus}
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version as package_version

        echo(f"mailbot {package_version('mailbot')}")
        raise typer.Exit


# Services log what they do; an interactive command's own output is what its user reads, so
# only warnings and errors join it unless --log-level asks for more.
SERVICES = frozenset({"run", "web", "backoffice"})


@app.callback()
def _root(
    ctx: typer.Context,
    config: ConfigOption = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            case_sensitive=False,
            help="How much to log (default: INFO for the servers, WARNING for the rest).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    State.config = config
    if log_level is None:
        service = ctx.invoked_subcommand in SERVICES
        log_level = LogLevel.INFO if service else LogLevel.WARNING
    log.configure(log_level.value)


def load_settings() -> Settings:
    from mailbot import config as config_module

    settings = config_module.load(config_module.config_path(State.config))
    log.use_timezone(settings.timezone)
    return settings


def open_engine(
    settings: Settings, *, require_current: bool = True, stalled_seconds: float | None = None
) -> Engine:
    from mailbot import engine as db  # the engine without the ORM: `workorders list` needs no more

    engine = db.make_engine(settings.database.url, stalled_seconds)
    if require_current:
        try:
            current = db.current_revision(engine)
        except Exception as exc:
            raise TransientError(f"database unavailable: {exc}") from None
        if current != db.head_revision(engine):
            raise ConfigError(
                f"database schema is at {current or 'nothing'}, not the current "
                f"{db.head_revision(engine)}: run `mailbot db upgrade`"
            )
    return engine


def services_for(settings: Settings, engine: Engine) -> Services:
    from mailbot.services import build_services
    from mailbot.storage import Store, load_or_create_secret

    store = Store(settings.storage.path)
    store.ensure()
    return build_services(settings, engine, store, load_or_create_secret(settings.storage.path))


def daemon_services() -> Services:
    """Config read, schema upgraded, services built: at start and again on SIGHUP."""
    from mailbot import db

    settings = load_settings()
    engine = open_engine(
        settings, require_current=False, stalled_seconds=settings.database.lease_seconds
    )
    db.upgrade(engine)
    return services_for(settings, engine)


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

OperatorOption = Annotated[
    str, typer.Option("--operator", help="The operator acting: one of the office's operators.")
]


def local_iso(value: Any, settings: Settings) -> str:
    return str(value.astimezone(settings.timezone).isoformat(timespec="seconds"))


ActorOption = Annotated[
    str | None,
    typer.Option("--by", help="Who is doing this, for the audit trail (default: your login)."),
]


def actor_name(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


def print_json(value: Any) -> None:
    typer.echo(terminal.safe_json(value))


def print_table(
    columns: Sequence[tuple[str, int | None]], cells: Sequence[Sequence[Any]], summary: str
) -> None:
    if cells:
        echo(terminal.table(columns, cells))
    echo(summary, err=True)


def echo(message: object = "", err: bool = False) -> None:
    """Everything the CLI prints goes through here: nothing from a stranger's mail acts on
    the admin's terminal (see terminal.py)."""
    typer.echo(terminal.safe(str(message)), err=err)


def refuse_binary_on_terminal(what: str, hint: str) -> None:
    """A PDF written to a terminal is garbage on the screen (and may play with it)."""
    if sys.stdout.isatty():
        raise InputError(f"{what} is not for the terminal: write it to a file with {hint}")


def write_out(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"--out {out}: {exc.strerror}") from None
    echo(f"wrote {out} ({len(data)} bytes)")


def read_attachments(paths: Sequence[Path] | None) -> list[Attachment]:
    """The files of `--attach`, read whole; one that cannot be read is named (exit 2)."""
    import mimetypes

    from mailbot.types import Attachment

    files = []
    for path in paths or []:
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise InputError(f"--attach {path}: {exc.strerror}") from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(Attachment(path.name, kind, payload))
    return files


def send_now(services: Services) -> None:
    """After a command queued mail: try to send it at once, and say how it went."""
    from mailbot import runtime

    report = runtime.deliver_now(services)
    echo(f"outbox: {report.sent} sent, {report.retried} deferred, {report.failed} failed")
