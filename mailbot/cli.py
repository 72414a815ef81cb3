"""The `mailbot` command: thin. Parse arguments, call one service function, print, and map
`MailbotError` to a one-line message and an exit code (2 for configuration and usage, 75 for
outages, 1 otherwise). No tracebacks for a user's mistake.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import Engine, make_url

from mailbot import config as config_module
from mailbot import db, log, terminal, workorders
from mailbot.config import Settings
from mailbot.errors import ConfigError, InputError, MailbotError, NotFoundError, TransientError
from mailbot.storage import Store, load_or_create_secret
from mailbot.types import LedgerStatus, Outcome

if TYPE_CHECKING:
    from mailbot.models import InboundMessage
    from mailbot.pipeline import Services

# The mail stack (parser, templates, IMAP, SMTP) is imported by the commands that use it, so
# that `workorders list` and friends start quickly.

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

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", "-c", help="Config file (default: $MAILBOT_CONFIG, else ./mailbot.toml)."
    ),
]


class _State:
    config: str | None = None


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class CaseStatus(StrEnum):
    OPEN = workorders.OPEN
    SUSPENDED = workorders.SUSPENDED
    CLOSED = workorders.CLOSED


InboundStatus = StrEnum(  # type: ignore[misc]  # the ledger's statuses, as choices
    "InboundStatus", {status.name: status.value for status in LedgerStatus}
)


def _version(value: bool) -> None:
    if value:
        _echo(f"mailbot {package_version('mailbot')}")
        raise typer.Exit


@app.callback()
def _root(
    config: ConfigOption = None,
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="How much to log.")
    ] = LogLevel.INFO,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _State.config = config
    log.configure(log_level.value)


def _settings() -> Settings:
    return config_module.load(config_module.config_path(_State.config))


def _engine(
    settings: Settings, *, require_current: bool = True, stalled_seconds: float | None = None
) -> Engine:
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


def _services(settings: Settings, engine: Engine) -> Services:
    from mailbot.pipeline import build_services

    store = Store(settings.storage.path)
    store.ensure()
    return build_services(settings, engine, store, load_or_create_secret(settings.storage.path))


def _daemon_services() -> Services:
    """Config read, schema upgraded, services built: at start and again on SIGHUP."""
    settings = _settings()
    engine = _engine(
        settings, require_current=False, stalled_seconds=settings.database.lease_seconds
    )
    db.upgrade(engine)
    return _services(settings, engine)


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="Process all new mail, flush the outbox, exit.")
    ] = False,
) -> None:
    """Watch the mailboxes and send what is due (upgrades the database schema first)."""
    from mailbot import daemon

    services = _daemon_services()
    if not once:
        daemon.run_forever(services, rebuild=_daemon_services)
        return
    report = daemon.run_once(services)
    for name, drained in report.mailboxes.items():
        counts = ", ".join(f"{n} {k}" for k, n in sorted(drained.counts.items())) or "no new mail"
        _echo(f"{name}: {counts}")
    for name, error in report.unavailable.items():
        _echo(f"{name}: unavailable: {error}", err=True)
    d = report.delivery
    _echo(f"outbox: {d.sent} sent, {d.retried} deferred, {d.failed} failed")
    for error in d.errors:
        _echo(f"outbox: {error}", err=True)
    if report.unavailable or d.errors:
        raise typer.Exit(TransientError.exit_code)


@app.command()
def check() -> None:
    """Check config, database, storage, every mailbox and the SMTP relay: one line each."""
    from mailbot.ingest.sources import make_source

    results: list[tuple[bool, str, str]] = []
    path = config_module.config_path(_State.config)
    try:
        settings = config_module.load(path)
    except ConfigError as exc:
        _echo(f"FAIL  config: {exc}")
        raise typer.Exit(1) from None
    results.append(
        (
            True,
            "config",
            f"{path} ({len(settings.mailboxes)} mailbox(es), {len(settings.offices)} office(s))",
        )
    )
    results.append(_check_database(settings))
    results.append(_check_storage(settings))
    results.append(_check_templates(settings))
    results.append(_check_openssl())
    results.extend(_check_oauth(settings))
    results.extend(_check_pec(settings))
    results.extend(_check_spam(settings))
    for mailbox in settings.mailboxes:
        source = make_source(mailbox)
        try:
            reached = source.connect()
            done = "login accepted" if mailbox.source == "imap" else "readable"
            results.append((True, f"mailbox {mailbox.name}", f"{reached}: {done}"))
        except MailbotError as exc:
            detail = str(exc).removeprefix(f"mailbox {mailbox.name}: ")
            results.append((False, f"mailbox {mailbox.name}", detail))
        finally:
            source.close()
    results.extend(asyncio.run(_check_outbox(settings)))
    for ok, what, detail in results:
        _echo(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}")
    if not all(ok for ok, _, _ in results):
        raise typer.Exit(1)


def _check_spam(settings: Settings) -> list[tuple[bool, str, str]]:
    from mailbot.ingest import spam

    honoured = ", ".join(settings.spam.filters) or "no filter's headers"
    hosts = ", ".join(settings.spam.trusted_hosts) or "none set: the topmost header decides"
    results = [(True, "spam", f"honouring {honoured}; trusted hosts: {hosts}")]
    if settings.spam.rspamd_url:
        try:
            results.append((True, "rspamd", spam.ping_rspamd(settings.spam)))
        except MailbotError as exc:
            results.append((False, "rspamd", str(exc)))
    return results


def _check_database(settings: Settings) -> tuple[bool, str, str]:
    shown = make_url(settings.database.url).render_as_string(hide_password=True)
    try:
        engine = db.make_engine(settings.database.url)
        current, head = db.current_revision(engine), db.head_revision(engine)
    except Exception as exc:
        return False, "database", f"{shown}: {str(exc).splitlines()[0]}"
    if current != head:
        return (
            False,
            "database",
            f"{shown}: schema at {current or 'nothing'}, run `mailbot db upgrade`",
        )
    return True, "database", f"{shown} (schema {current})"


def _check_templates(settings: Settings) -> tuple[bool, str, str]:
    from mailbot.replies.compose import Composer, templates_root

    try:
        failures = Composer(settings, b"check" * 8).self_test()
    except MailbotError as exc:
        return False, "templates", str(exc)
    if failures:
        return False, "templates", "; ".join(failures)
    return True, "templates", f"{templates_root(settings)}: every message renders (it, en)"


def _check_openssl() -> tuple[bool, str, str]:
    import shutil

    found = shutil.which("openssl")
    if found is None:
        return (
            False,
            "openssl",
            "not installed: PEC signatures would stay unchecked (apt-get install openssl)",
        )
    return True, "openssl", f"{found} (PEC signature checks)"


def _check_storage(settings: Settings) -> tuple[bool, str, str]:
    import stat

    root = settings.storage.path
    try:
        Store(root).ensure()
    except MailbotError as exc:
        return False, "storage", str(exc)
    # Originals are evidence and personal data: nobody but mailbot's user may read them.
    for path in (root, root / "objects", root / "secret.key"):
        if not path.exists():
            continue
        info = path.stat()
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            return (
                False,
                "storage",
                f"{path} is open to other users (mode {mode:04o}): chmod go-rwx {path}",
            )
        if info.st_uid != os.geteuid():
            return False, "storage", f"{path} belongs to uid {info.st_uid}, not to this user"
    return True, "storage", f"{root} writable, private to this user"


def _check_oauth(settings: Settings) -> list[tuple[bool, str, str]]:
    """Every OAuth2 sign-in: a token is fetched now (the logins below use their own)."""
    from mailbot.oauth import TokenSource

    accounts = [m.oauth for m in settings.mailboxes if m.source == "imap"]
    accounts += [settings.smtp.oauth, *(m.smtp.oauth for m in settings.mailboxes if m.smtp)]
    results: list[tuple[bool, str, str]] = []
    for oauth in accounts:
        if oauth is None:
            continue
        what = f"oauth2 {oauth.key}"
        try:
            TokenSource(oauth).token()
        except MailbotError as exc:
            results.append((False, what, str(exc)))
            continue
        results.append((True, what, f"token obtained from {oauth.token_url} ({oauth.flow})"))
    return results


def _check_pec(settings: Settings) -> list[tuple[bool, str, str]]:
    """PEC boxes: their own account for outbound (checked with the outbox below) and the
    providers' CA bundle the receipts' signatures are checked against."""
    import ssl

    results: list[tuple[bool, str, str]] = []
    pec_boxes = [m for m in settings.mailboxes if m.pec]
    for m in pec_boxes:
        assert m.smtp is not None  # the config refuses pec = true without it
        results.append(
            (True, f"pec {m.name}", f"sends from {m.smtp.from_address} via {m.smtp.host}")
        )
    bundle = settings.pec.ca_bundle
    if bundle is not None:
        try:
            context = ssl.create_default_context(cafile=str(bundle))
        except (ssl.SSLError, OSError) as exc:
            results.append((False, "pec.ca_bundle", f"{bundle}: not a PEM bundle ({exc})"))
        else:
            count = context.cert_store_stats()["x509_ca"]
            results.append((count > 0, "pec.ca_bundle", f"{bundle}: {count} CA certificate(s)"))
    elif pec_boxes:
        results.append((True, "pec.ca_bundle", "not set: signatures checked, provider chains not"))
    return results


async def _check_outbox(settings: Settings) -> list[tuple[bool, str, str]]:
    """Every outbound account: [smtp], and each mailbox's own (a PEC box's) account."""
    from mailbot.replies.sender import DeliveryError, make_transport

    router = make_transport(settings)
    results: list[tuple[bool, str, str]] = []
    for account, transport in router.transports.items():
        what = "smtp" if settings.outbox.transport == "smtp" else "outbox directory"
        if account:
            what = f"mailbox {account} smtp (its own account)"
        try:
            await transport.open()
        except (DeliveryError, MailbotError, OSError) as exc:
            results.append((False, what, str(exc)))
            continue
        finally:
            await transport.close()
        if settings.outbox.transport == "smtp":
            s = settings.mailbox(account).smtp if account else settings.smtp
            assert s is not None
            login = f", login accepted for {s.username}" if s.username else ""
            results.append((True, what, f"{s.host}:{s.port} ({s.security}) reachable{login}"))
        else:
            results.append((True, what, f"{settings.outbox.directory} writable"))
    return results


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    settings = _settings()
    revision = db.upgrade(_engine(settings, require_current=False))
    _echo(f"database at revision {revision}")


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="The export: CSV or JSON Lines.")],
    *,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: by the file name).")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: detected from the header).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Text encoding (default: UTF-8, else Windows-1252).")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="A full export: retire taxpayers it does not have.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
) -> None:
    """Add, update (and with --prune retire) taxpayers from a registry export."""
    from mailbot.matching import registry_import

    settings = _settings()
    engine = _engine(settings)
    show_bar = sys.stderr.isatty() and file.is_file() and file.stat().st_size > 5_000_000
    with typer.progressbar(
        length=_count_lines(file) if show_bar else 1,
        label="records",
        file=sys.stderr,
        hidden=not show_bar,
        show_pos=True,
    ) as bar:
        report = registry_import.import_file(
            engine,
            file,
            settings.registry,
            fmt=fmt,
            delimiter=delimiter,
            encoding=encoding,
            prune=prune,
            dry_run=dry_run,
            progress=bar.update,
        )
    _echo(
        ("dry run, nothing changed: " if dry_run else "")
        + f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        + (f"pruned {report.pruned}, " if prune else "")
        + f"rejected {len(report.rejected)}"
    )
    for line, reason in report.rejected:
        _echo(f"  line {line}: {reason}")


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


@app.command("rematch")
def rematch_cases(
    since: Annotated[
        str | None, typer.Option(help="Only cases received on or after this day (YYYY-MM-DD).")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Make the changes.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Match cases on generic or unverified contacts again, after a registry update."""
    from datetime import date, datetime, time

    from mailbot import rematch

    settings = _settings()
    start = None
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise InputError(f"--since: expected a day like 2026-03-01, got {since!r}") from None
        start = datetime.combine(day, time(), settings.timezone)
    changes = rematch.rematch(_services(settings, _engine(settings)), start, apply)
    if as_json:
        _print_json([{"number": c.number, "before": c.before, "after": c.after} for c in changes])
        return
    for c in changes:
        b, a = c.before, c.after
        why = f"{a['rule']}: {a['evidence']}" if a["evidence"] else a["rule"]
        _echo(
            f"{c.number}: {b['state']} {b['codice_fiscale'] or '-'} -> {a['state']} "
            f"{a['codice_fiscale'] or '-'} ({why})"
        )
    verb = "changed" if apply else "would change (run with --apply)"
    _echo(f"{len(changes)} case(s) {verb}", err=True)


@report_app.command("register")
def report_register(
    year: Annotated[int, typer.Option(help="Cases received in this year.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    out: Annotated[Path | None, typer.Option(help="Write here (xlsx needs it).")] = None,
) -> None:
    """The register of every complaint of a year: filing, author, category, office, reasoned
    reply, protocol numbers, outcome, days taken, within term, refund due."""
    from mailbot import reports

    if fmt not in ("csv", "xlsx"):
        raise InputError(f"--format: expected csv or xlsx, got {fmt!r}")
    if fmt == "xlsx" and out is None:
        raise InputError("--format xlsx needs --out FILE.xlsx")
    settings = _settings()
    services = _services(settings, _engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.register(session, settings, services.clock, year)
    if fmt == "xlsx":
        assert out is not None
        reports.to_xlsx(rows, reports.REGISTER_COLUMNS, out)
    else:
        text = reports.to_csv(rows, reports.REGISTER_COLUMNS)
        if out is None:
            sys.stdout.write(text)
        else:
            out.write_text(text, encoding="utf-8")
    _echo(f"{len(rows)} case(s) in the {year} register", err=True)


@report_app.command("annual")
def report_annual(
    year: Annotated[int, typer.Option(help="The year reported on.")],
    out: Annotated[Path, typer.Option(help="Directory for the HTML page and the PDF.")],
) -> None:
    """The annual report: an HTML page with charts and the same as a PDF."""
    from mailbot import annual, reports

    settings = _settings()
    services = _services(settings, _engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.register(session, settings, services.clock, year)
        previous = reports.register(session, settings, services.clock, year - 1)
    try:
        page, pdf = annual.write(
            annual.figures(year, rows, previous), services.composer.institution, out
        )
    except OSError as exc:
        raise InputError(f"--out: cannot write to {out}: {exc.strerror}") from None
    _echo(f"{page}\n{pdf}")


@report_app.command("sla")
def report_sla(as_json: JsonOption = False) -> None:
    """Cases still waiting for a reasoned reply, soonest deadline first, with the days left."""
    from mailbot import reports

    settings = _settings()
    services = _services(settings, _engine(settings))
    with db.unit_of_work(services.engine) as session:
        rows = reports.sla(session, services.clock)
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        left = row["days_left"]
        when = f"{left} day(s) left" if left >= 0 else f"LATE by {-left} day(s)"
        _echo(
            f"{row['number']}  {row['status']:<9} {row['office']:<10} due {row['due_on']}  "
            f"{when:<18} {row['subject']}"
        )
    _echo(f"{len(rows)} case(s) waiting for a reasoned reply", err=True)


@registry_app.command("show")
def registry_show(
    query: Annotated[
        str, typer.Argument(help="A codice fiscale or partita IVA, an address, or a name.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Find taxpayers by code, address or name."""
    from mailbot.matching import registry

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        found = registry.search(session, query)
    if as_json:
        _print_json(found)
        return
    if not found:
        raise NotFoundError(f"no taxpayer matches {query!r}")
    for t in found:
        _echo(f"{t['codice_fiscale']}  {t['name']}" + ("  (removed)" if t["removed"] else ""))
        for kind in ("email", "pec"):
            for address in t[kind]:
                _echo(f"    {kind:<5} {address}")
        if t["postal_address"]:
            _echo(f"    addr  {t['postal_address']}")


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@workorders_app.command("list")
def workorders_list(
    as_json: JsonOption = False,
    status: Annotated[CaseStatus | None, typer.Option(help="Only this status.")] = None,
    office: Annotated[str | None, typer.Option(help="Only this office id.")] = None,
) -> None:
    """List work orders, oldest first."""
    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        rows = workorders.list_work_orders(
            session, settings.timezone, status.value if status else None, office
        )
    if as_json:
        _print_json(rows)
        return
    columns = [("NUMBER", None), ("STATUS", 9), ("OFFICE", 12), ("DUE", 10), ("CONTACT", 34),
               ("SUBJECT", 60)]  # fmt: skip
    cells = [
        (r["number"], r["status"], r["office"], r["due_at"][:10], r["contact"]["email"],
         r["subject"])
        for r in rows
    ]  # fmt: skip
    _print_table(columns, cells, f"{len(rows)} work order(s)")


@workorders_app.command("show")
def workorders_show(number: str, as_json: JsonOption = False) -> None:
    """One work order with its whole conversation."""
    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        detail = workorders.show_work_order(session, number, settings.timezone)
    if as_json:
        _print_json(detail)
        return
    contact = detail["contact"]
    _echo(f"Pratica {detail['number']} — {detail['status']} — office {detail['office']}")
    _echo(f"Subject: {detail['subject']}")
    _echo(
        f"Contact: {contact['name']} <{contact['email']}>"
        + (f" CF {contact['codice_fiscale']}" if contact["codice_fiscale"] else " (generic)")
    )
    match = detail["match"]
    verified = "sender verified" if contact["verified"] else "sender UNVERIFIED"
    candidates = f", candidates {', '.join(match['candidates'])}" if match["candidates"] else ""
    _echo(f"Match: rule {match['rule']}, state {match['state']}, {verified}{candidates}")
    _echo(f"Opened {detail['opened_at']}, due {detail['due_at']}")
    for message in detail["messages"]:
        arrow = "<-" if message["direction"] == "in" else "->"
        _echo(f"\n{arrow} {message['kind']} {message['date']} from {message['from']}")
        _echo(f"   {message['subject']}")
        for attachment in message["attachments"]:
            _echo(f"   [attachment] {attachment['filename']} ({attachment['size']} bytes)")
        if "pec" in message:
            certified = message["pec"]
            _echo(f"   [PEC] {certified['state']} id {certified['provider_id'] or '-'}")
            for receipt in certified["receipts"]:
                details = [receipt["date"], receipt["recipient"], receipt["error"]]
                shown = ", ".join(d for d in details if d)
                _echo(f"   [PEC] {receipt['type']} {shown} (signature {receipt['signature']})")
        _echo("   " + message["body_text"].replace("\n", "\n   "))


@workorders_app.command("link")
def workorders_link(
    number: str,
    code: Annotated[str, typer.Argument(help="Codice fiscale or partita IVA of the registry.")],
    operator: Annotated[str, typer.Option(help="Who says so (recorded in the audit trail).")],
) -> None:
    """Say who a case is about: links it to a registry entry, confirmed."""
    from mailbot import rematch

    settings = _settings()
    _echo(rematch.link(_services(settings, _engine(settings)), number, code, operator))


@workorders_app.command("export")
def workorders_export(
    number: str,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="html or pdf (a document), or eml (an email with every original)."
        ),
    ] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    send_to: Annotated[
        str | None, typer.Option("--send-to", help="Mail the case file (eml) to this address.")
    ] = None,
) -> None:
    """The whole case: conversation, attachments list and event log."""
    from mailbot import daemon, transcript
    from mailbot.types import looks_like_address

    if fmt not in transcript.FORMATS:
        raise InputError(f"--format: must be one of {', '.join(transcript.FORMATS)}, got {fmt!r}")
    settings = _settings()
    services = _services(settings, _engine(settings))
    if send_to is not None:
        if not looks_like_address(send_to.strip().lower()):
            raise InputError(f"--send-to: {send_to!r} is not an email address")
        transcript.send(services, number, send_to.strip().lower())
        report = daemon.deliver_now(services)
        _echo(f"case file of {number} queued for {send_to}; outbox: {report.sent} sent")
        return
    data = transcript.export(services, number, fmt)
    if out is None:
        sys.stdout.buffer.write(data)
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"--out {out}: {exc.strerror}") from None
    _echo(f"wrote {out} ({len(data)} bytes)")


OperatorOption = Annotated[
    str, typer.Option("--operator", help="The operator acting: one of the office's operators.")
]


def _act(number: str, operator: str, text: str, attach: list[Path] | None = None) -> None:
    """Carry out an operator's message from the command line, then try to send at once."""
    import mimetypes

    from mailbot import conversations
    from mailbot.types import Attachment

    settings = _settings()
    services = _services(settings, _engine(settings))
    files = []
    for path in attach or []:
        try:
            payload = path.read_bytes()
        except OSError as exc:
            raise InputError(f"--attach {path}: {exc.strerror}") from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(Attachment(path.name, kind, payload))
    _echo(conversations.operator_action(services, number, operator, text, files))
    from mailbot import daemon

    report = daemon.deliver_now(services)
    _echo(f"outbox: {report.sent} sent, {report.retried} deferred, {report.failed} failed")


@workorders_app.command("reply")
def workorders_reply(
    number: str,
    operator: OperatorOption,
    file: Annotated[
        Path, typer.Option("--file", help="Text of the reply (UTF-8); may start with commands.")
    ],
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="A file to attach; repeatable.")
    ] = None,
) -> None:
    """Answer the citizen, as if the operator had replied by email."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--file {file}: cannot read: {exc}") from None
    _act(number, operator, text, attach)


@workorders_app.command("note")
def workorders_note(number: str, operator: OperatorOption, text: str) -> None:
    """Add an internal note (never sent to the citizen)."""
    _act(number, operator, f"#nota\n{text}")


@workorders_app.command("assign")
def workorders_assign(number: str, operator: OperatorOption, office: str) -> None:
    """Hand the case to another office, which gets a notification."""
    _act(number, operator, f"#assegna {office}")


@workorders_app.command("close")
def workorders_close(number: str, operator: OperatorOption) -> None:
    """Close the case."""
    _act(number, operator, "#chiudi")


@workorders_app.command("reopen")
def workorders_reopen(number: str, operator: OperatorOption) -> None:
    """Reopen a closed case."""
    _act(number, operator, "#riapri")


@workorders_app.command("category")
def workorders_category(
    number: str,
    category: Annotated[str, typer.Argument(help="A category id ([[categories]]).")],
    operator: OperatorOption,
) -> None:
    """Set the case's category, and so its service-charter term."""
    _act(number, operator, f"#categoria {category}\n#nota")


@workorders_app.command("protocollo")
def workorders_protocollo(
    number: str,
    protocollo: Annotated[str, typer.Argument(help="The protocol number of a document.")],
    operator: OperatorOption,
) -> None:
    """Record a protocol number of the case's correspondence (for the register)."""
    _act(number, operator, f"#protocollo {protocollo}\n#nota")


@workorders_app.command("extend")
def workorders_extend(
    number: str,
    days: Annotated[int, typer.Argument(help="Days added to the term.")],
    reason: Annotated[str, typer.Argument(help="Why: the citizen is told.")],
    operator: OperatorOption,
) -> None:
    """Extend the term (proroga); the citizen gets a notice with the reason and the new date."""
    _act(number, operator, f"#proroga {days} {reason}\n#nota")


def _iso(value: Any, settings: Settings) -> str:
    return str(value.astimezone(settings.timezone).isoformat(timespec="seconds"))


@inbound_app.command("list")
def inbound_list(
    as_json: JsonOption = False,
    mailbox: Annotated[str | None, typer.Option(help="Only this mailbox.")] = None,
    status: Annotated[InboundStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 200,
) -> None:
    """Every message the mailboxes received, newest first, and what became of it."""
    from mailbot.ingest import ledger

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        found = ledger.entries(
            session, mailbox=mailbox, statuses=[status.value] if status else (), limit=limit
        )
    rows: list[dict[str, Any]] = [
        {
            "mailbox": entry.mailbox,
            "uid": ledger.position(entry),
            "message_id": entry.message_id,
            "from": entry.sender,
            "subject": entry.subject,
            "received_at": _iso(entry.received_at, settings),
            "status": entry.status,
            "reason": entry.reason,
            "case": number,
        }
        for entry, number in found
    ]
    if as_json:
        _print_json(rows)
        return
    columns = [("RECEIVED", 16), ("MAILBOX", 14), ("STATUS", 11), ("CASE", 12), ("FROM", 40),
               ("SUBJECT", 50)]  # fmt: skip
    cells = [
        (r["received_at"][:16], r["mailbox"], r["status"], r["case"] or "-", r["from"],
         r["subject"])
        for r in rows
    ]  # fmt: skip
    _print_table(columns, cells, f"{len(rows)} message(s)")


@quarantine_app.command("list")
def quarantine_list(as_json: JsonOption = False) -> None:
    """Quarantined (unexpected error) and rejected (unusable) messages, newest first."""
    from mailbot.ingest import ledger

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        found = ledger.entries(session, statuses=ledger.QUARANTINE, limit=10_000)
    rows: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "mailbox": entry.mailbox,
            "uid": ledger.position(entry),
            "message_id": entry.message_id,
            "reason": entry.reason,
            "received_at": _iso(entry.received_at, settings),
            "status": entry.status,
        }
        for entry, _ in found
    ]
    if as_json:
        _print_json(rows)
        return
    columns = [("ID", None), ("STATUS", 11), ("MAILBOX", 14), ("RECEIVED", 16), ("REASON", 80)]
    cells = [
        (r["id"], r["status"], r["mailbox"], r["received_at"][:16], r["reason"]) for r in rows
    ]
    _print_table(columns, cells, f"{len(rows)} message(s) in quarantine")


@quarantine_app.command("show")
def quarantine_show(
    inbound_id: int,
    raw: Annotated[bool, typer.Option("--raw", help="Write the original bytes to stdout.")] = False,
) -> None:
    """One quarantined message: why, where from, and its original."""
    from mailbot.models import InboundMessage

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        entry = session.get(InboundMessage, inbound_id)
    if entry is None:
        raise NotFoundError(f"no inbound message {inbound_id}")
    if _show_entry(entry, settings, raw):
        _echo(f"reason: {entry.reason}")
        if entry.error_detail:
            _echo(f"\n{entry.error_detail}")


def _report_outcome(inbound_id: int, outcome: Outcome) -> None:
    _echo(
        f"{inbound_id}: {outcome.status}"
        + (f" ({outcome.work_order_number})" if outcome.work_order_number else "")
        + (f": {outcome.reason}" if outcome.reason else "")
    )


def _show_entry(entry: InboundMessage, settings: Settings, raw: bool) -> bool:
    """A ledger row's facts, or with `raw` its original bytes; False when the bytes went out."""
    if raw:
        sys.stdout.buffer.write(Store(settings.storage.path).get(entry.raw_sha256))
        return False
    where = entry.uid or entry.source_ref
    _echo(f"id {entry.id}  status {entry.status}  mailbox {entry.mailbox}  uid {where}")
    when = _iso(entry.received_at, settings)
    _echo(f"received {when}  {entry.raw_size} bytes  sha256 {entry.raw_sha256}")
    _echo(f"from: {entry.sender}\nsubject: {entry.subject}\nmessage-id: {entry.message_id}")
    return True


@quarantine_app.command("retry")
def quarantine_retry(inbound_id: int) -> None:
    """Process a quarantined or rejected message again (after a fix), then send what is due."""
    from mailbot import daemon
    from mailbot.pipeline import retry

    settings = _settings()
    services = _services(settings, _engine(settings))
    _report_outcome(inbound_id, retry(services, inbound_id))
    daemon.deliver_now(services)


@quarantine_app.command("discard")
def quarantine_discard(inbound_id: int) -> None:
    """Dismiss a message from the quarantine; its original stays in storage as evidence."""
    from mailbot.ingest import ledger

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        ledger.discard(session, inbound_id, actor="cli")
    _echo(f"{inbound_id}: discarded (original kept)")


@spam_app.command("list")
def spam_list(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 200,
) -> None:
    """Messages held as spam, newest first: who, what, and which filter said so."""
    from mailbot.ingest import ledger
    from mailbot.types import LedgerStatus

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        found = ledger.entries(session, statuses=[LedgerStatus.SPAM], limit=limit)
    rows: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "mailbox": entry.mailbox,
            "received_at": _iso(entry.received_at, settings),
            "from": entry.sender,
            "subject": entry.subject,
            "score": entry.spam_score,
            "reason": entry.reason,
        }
        for entry, _ in found
    ]
    if as_json:
        _print_json(rows)
        return
    columns = [("ID", None), ("RECEIVED", 16), ("MAILBOX", 14), ("SCORE", 7), ("FROM", 36),
               ("SUBJECT", 50)]  # fmt: skip
    cells = [
        (r["id"], r["received_at"][:16], r["mailbox"],
         "-" if r["score"] is None else f"{r['score']:g}", r["from"], r["subject"])
        for r in rows
    ]  # fmt: skip
    _print_table(columns, cells, f"{len(rows)} message(s) held as spam")


@spam_app.command("show")
def spam_show(
    inbound_id: int,
    raw: Annotated[bool, typer.Option("--raw", help="Write the original bytes to stdout.")] = False,
) -> None:
    """One message held as spam: the filter's verdict, and its original."""
    from mailbot.models import InboundMessage
    from mailbot.types import LedgerStatus

    settings = _settings()
    with db.unit_of_work(_engine(settings)) as session:
        entry = session.get(InboundMessage, inbound_id)
    if entry is None or entry.status != LedgerStatus.SPAM:
        raise NotFoundError(f"no message {inbound_id} held as spam (see `mailbot spam list`)")
    if _show_entry(entry, settings, raw):
        score = "-" if entry.spam_score is None else f"{entry.spam_score:g}"
        _echo(f"verdict: {entry.reason}\nscore: {score}")
        _echo(f"release it with: mailbot spam release {entry.id}")


@spam_app.command("release")
def spam_release(
    inbound_id: int,
    by: Annotated[str | None, typer.Option(help="Who releases it (default: $USER).")] = None,
) -> None:
    """Not spam after all: open its case as if it had just arrived (confirmation included)."""
    from mailbot import daemon
    from mailbot.pipeline import release

    settings = _settings()
    services = _services(settings, _engine(settings))
    _report_outcome(inbound_id, release(services, inbound_id, _actor(by)))
    daemon.deliver_now(services)


@app.command()
def reconcile(
    mailbox: Annotated[str | None, typer.Option(help="Only this mailbox.")] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="Ingest what is missing, free stuck rows.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare each mailbox with the database and report (and with --fix, repair) the gaps."""
    from mailbot import daemon
    from mailbot import reconcile as reconciling

    settings = _settings()
    services = _services(settings, _engine(settings))
    result = reconciling.reconcile(services, mailbox, fix)
    if fix:
        daemon.deliver_now(services)
    if as_json:
        _print_json(result.as_dict())
    else:
        _echo(
            f"{'mailbox':<14} {'server':>7} {'recorded':>9} {'waiting':>8} {'missing':>8}  notes"
        )
        for m in result.mailboxes:
            notes = ("UIDVALIDITY changed; " if m.uidvalidity_changed else "") + m.error
            if m.missing:
                shown = ", ".join(map(str, m.missing[:10])) + ("…" if len(m.missing) > 10 else "")
                notes += f"missing UIDs {shown}" + (f", {m.fixed} ingested now" if m.fixed else "")
            counts = f"{m.on_server:>7} {m.recorded:>9} {m.waiting:>8} {len(m.missing):>8}"
            _echo(f"{m.mailbox:<14} {counts}  {notes}")
        _echo(f"outbox rows stuck over an hour: {len(result.stuck_outbox)}")
        cases = ", ".join(result.without_confirmation) or "none"
        _echo(f"cases without a confirmation: {cases}")
        verdict = "gaps found" + (" (fixed what could be)" if fix else ": run with --fix")
        _echo("clean" if result.clean else verdict)
    if not result.clean and not fix:
        raise typer.Exit(1)


@app.command()
def reminders() -> None:
    """Queue and send today's digest to each office (cases due soon, overdue ones to the
    manager) if its time has come and it has not gone yet: safe to run any number of times.
    The daemon does this itself; the timer is the safety net for `run --once` set-ups."""
    from mailbot import daemon
    from mailbot import reminders as reminding
    from mailbot.models import utcnow

    settings = _settings()
    services = _services(settings, _engine(settings))
    queued = reminding.send_digests(services, utcnow())
    delivery = daemon.deliver_now(services)
    _echo(f"digests queued: {queued}; outbox: {delivery.sent} sent")
    for error in delivery.errors:
        _echo(f"outbox: {error}", err=True)
    if delivery.errors:
        raise typer.Exit(TransientError.exit_code)


ActorOption = Annotated[
    str | None,
    typer.Option("--by", help="Who is doing this, for the audit trail (default: your login)."),
]


def _actor(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


@app.command()
def purge(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Cases closed longer ago than this (5y, 400d); default [retention] cases.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; change nothing.")
    ] = False,
    by: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove the personal data of closed cases past retention; keep their figures."""
    from mailbot import privacy
    from mailbot.models import utcnow

    settings = _settings()
    age = older_than or settings.retention.cases
    before = privacy.cutoff(utcnow(), age, "--older-than" if older_than else "retention.cases")
    services = _services(settings, _engine(settings))
    report = privacy.purge(services, before, dry_run=dry_run, actor=_actor(by))
    if as_json:
        _print_json(report.as_dict())
        return
    when = before.astimezone(settings.timezone).date().isoformat()
    verb = "would be purged" if dry_run else "purged"
    _echo(f"cases closed before {when}: {len(report.cases)} {verb}")
    if report.cases:
        shown = ", ".join(report.cases[:20]) + (" …" if len(report.cases) > 20 else "")
        _echo(f"  {shown}")
    _echo(f"messages scrubbed: {report.messages}")
    if not dry_run:
        _echo(
            f"stored objects removed: {report.objects_removed}; "
            f"contacts removed: {report.contacts_removed}"
        )


@contact_app.command("export")
def contact_export(
    who: Annotated[str, typer.Argument(help="An email address, or a codice fiscale / P.IVA.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The ZIP to write (default: ./export-….zip).")
    ] = None,
    by: ActorOption = None,
) -> None:
    """Everything held about one person, as a ZIP (an access request under the GDPR)."""
    from mailbot import privacy
    from mailbot.models import utcnow

    settings = _settings()
    services = _services(settings, _engine(settings))
    data, summary = privacy.export_person(services, who.strip(), actor=_actor(by))
    target = out or Path(f"export-{utcnow().strftime('%Y%m%d-%H%M%S')}.zip")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise InputError(f"--out {target}: {exc.strerror}") from None
    _echo(f"wrote {target}: {summary}")


def _print_json(value: Any) -> None:
    typer.echo(terminal.safe_json(value))


def _print_table(
    columns: Sequence[tuple[str, int | None]], cells: Sequence[Sequence[Any]], summary: str
) -> None:
    if cells:
        _echo(terminal.table(columns, cells))
    _echo(summary, err=True)


def _echo(message: object = "", err: bool = False) -> None:
    """Everything the CLI prints goes through here: nothing from a stranger's mail acts on
    the admin's terminal (see terminal.py)."""
    typer.echo(terminal.safe(str(message)), err=err)


def _command() -> Any:
    """The command behind `app`, its placeholders in the usual form (NUMBER, FILE, N) rather
    than the type names Typer shows by default (<str>, <list[Path]>)."""
    command = typer.main.get_command(app)

    def walk(node: Any) -> None:
        for param in node.params:
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            if param.name and param.metavar is None:
                descriptor = getattr(param, "type_descriptor", None)
                is_int = getattr(descriptor, "annotation", None) is int
                param.metavar = "N" if is_int else param.name.upper()
            if param.param_type_name == "argument":  # NUMBER, not "{number} <str>"
                shown = param.metavar if param.required else f"[{param.metavar}]"
                param.display_type_rich = lambda ctx: None
                param._usage_display_name = lambda shown=shown: shown
        for child in getattr(node, "commands", {}).values():
            walk(child)

    walk(command)
    return command


def main() -> None:
    # Everything mailbot creates (the SQLite file, the store, sent .eml files, exports) holds
    # personal data: private to its user, whatever umask the shell or cron gave.
    os.umask(0o077)
    try:
        _command()(prog_name="mailbot")
    except MailbotError as exc:
        _echo(f"mailbot: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `mailbot workorders list | head`
        os._exit(0)
