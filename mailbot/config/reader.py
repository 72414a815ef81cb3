"""TOML → `Settings`: the file found and read, every section parsed (mail servers and the
charter's policies in modules of their own)."""

from __future__ import annotations

import codecs
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.config.backoffice import read_backoffice
from mailbot.config.defaults import INTEGRATION_RULES, LANGUAGES, REGISTRY_FIELDS
from mailbot.config.mail_reader import read_mailboxes, read_smtp
from mailbot.config.policy_reader import read_charter, read_spam
from mailbot.config.protocol import read_protocol
from mailbot.config.settings import (
    CharterSettings,
    ConversationSettings,
    DatabaseSettings,
    LimitSettings,
    MatchingSettings,
    MetricsSettings,
    OfficeSettings,
    OutboxSettings,
    PecSettings,
    RegistrySettings,
    RetentionSettings,
    Settings,
    StorageSettings,
    Term,
)
from mailbot.config.staff_reader import read_desks, read_staff
from mailbot.config.table import Table, parse_age, show
from mailbot.config.web import parse_listen, read_web
from mailbot.errors import ConfigError
from mailbot.types import looks_like_address

CONFIG_ENV = "MAILBOT_CONFIG"

# The top-level keys and tables: anything else is named as unknown before any table is read,
# so a misspelt `[smpt]` is not reported as a missing `[smtp]`.
TOP_LEVEL = frozenset(
    {
        "timezone", "language", "templates_path", "database", "storage", "smtp", "outbox",
        "conversations", "limits", "pec", "matching", "registry", "charter", "metrics",
        "retention", "spam", "offices", "mailboxes", "web", "backoffice", "categories", "desks",
        "staff", "protocol",
    }
)  # fmt: skip


def config_path(explicit: str | None) -> Path:
    """The config file to read: --config, else $MAILBOT_CONFIG, else ./mailbot.toml."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or "mailbot.toml"
    return Path(chosen)


def load(path: Path) -> Settings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found (give --config or set {CONFIG_ENV})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML: {exc}") from None
    settings = parse(data)
    return Settings(**{**settings.__dict__, "source_path": path})


def parse(data: Mapping[str, Any]) -> Settings:
    root = Table(data, "")
    root.known(TOP_LEVEL)
    tz_name = root.text("timezone", "Europe/Rome")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {tz_name!r}") from None
    language = root.text("language", "it", LANGUAGES)
    templates = root.text("templates_path", "")

    db = root.table("database")
    database = DatabaseSettings(
        url=db.text("url"), lease_seconds=db.number("lease_seconds", 15.0, low=3.0)
    )
    if "://" not in database.url:
        raise ConfigError(f"database.url: {database.url!r} is not a database URL (sqlite:///…)")
    db.done()

    st = root.table("storage")
    storage = StorageSettings(path=Path(st.text("path")))
    st.done()

    smtp = read_smtp(root.table("smtp"))
    outbox = _outbox(root.table("outbox", required=False))
    conversations = _conversations(root.table("conversations", required=False))
    limits = _limits(root.table("limits", required=False))
    pec_table = root.table("pec", required=False)
    pec = PecSettings(ca_bundle=pec_table.path_or_none("ca_bundle"))
    pec_table.done()
    matching = _matching(root.table("matching", required=False))
    registry = _registry(root.table("registry", required=False))
    charter = read_charter(root.table("charter", required=False), root)
    metrics = _metrics(root.table("metrics", required=False))
    retention_table = root.table("retention", required=False)
    retention = RetentionSettings(cases=retention_table.text("cases", "5y"))
    parse_age(retention.cases, "retention.cases")
    retention_table.done()
    spam = read_spam(root.table("spam", required=False))
    offices = _offices(root.tables("offices"), charter)
    desks = read_desks(root.tables("desks")) if "desks" in data else {}
    staff = read_staff(root.tables("staff") if "staff" in data else [], offices, desks)
    mailboxes = read_mailboxes(root.tables("mailboxes"), offices, smtp.from_address, desks)
    web = read_web(root.table("web", required=False), tuple(m.name for m in mailboxes))
    backoffice = read_backoffice(root.table("backoffice", required=False))
    protocol = read_protocol(root.table("protocol", required=False))
    root.done()
    return Settings(
        timezone=timezone,
        language=language,
        templates_path=Path(templates) if templates else None,
        database=database,
        storage=storage,
        smtp=smtp,
        outbox=outbox,
        mailboxes=mailboxes,
        offices=offices,
        conversations=conversations,
        limits=limits,
        pec=pec,
        matching=matching,
        registry=registry,
        charter=charter,
        metrics=metrics,
        retention=retention,
        spam=spam,
        web=web,
        backoffice=backoffice,
        protocol=protocol,
        desks=desks,
        staff=staff,
    )


def _metrics(t: Table) -> MetricsSettings:
    listen = t.text("listen", "").strip()
    t.done()
    if not listen:
        return MetricsSettings()
    return MetricsSettings(*parse_listen(listen, "metrics.listen", "127.0.0.1:9108"))


def _matching(t: Table) -> MatchingSettings:
    ids = tuple(i.strip().lower() for i in t.str_list("trusted_authserv_ids") if i.strip())
    settings = MatchingSettings(
        trusted_authserv_ids=ids, name_similarity=t.integer("name_similarity", 90, 50, 100)
    )
    t.done()
    return settings


def _registry(t: Table) -> RegistrySettings:
    table = t.table("columns", required=False)
    columns: dict[str, tuple[str, ...]] = {}
    for name in REGISTRY_FIELDS:
        value = table.data.get(name, name)
        table.used.add(name)
        names = (value,) if isinstance(value, str) else value
        if (
            not isinstance(names, list | tuple)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise ConfigError(
                f"registry.columns.{name}: expected a column name or a list of them, "
                f"got {show(value)}"
            )
        columns[name] = tuple(n.strip().lower() for n in names)
    table.done()
    delimiter = t.text("delimiter", "")
    if delimiter not in ("", ",", ";", "\t", "|"):
        raise ConfigError(f"registry.delimiter: must be one of , ; | or a tab, got {delimiter!r}")
    encoding = t.text("encoding", "")
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"registry.encoding: unknown encoding {encoding!r}") from None
    t.done()
    return RegistrySettings(columns=columns, delimiter=delimiter, encoding=encoding)


def _limits(t: Table) -> LimitSettings:
    allow = tuple(a.strip().lower() for a in t.str_list("allow"))
    for entry in allow:
        if not (looks_like_address(entry) or (entry.startswith("@") and "." in entry)):
            raise ConfigError(f"limits.allow: {entry!r} is neither an address nor an @domain")
    settings = LimitSettings(
        per_recipient=t.integer("per_recipient", 5, 1, 10_000),
        per_case=t.integer("per_case", 10, 1, 10_000),
        window_minutes=t.integer("window_minutes", 60, 1, 100_000),
        allow=allow,
        max_attachment_bytes=int(t.number("max_attachment_mb", 10.0, low=0.001) * 1024 * 1024),
        max_message_bytes=int(t.number("max_message_mb", 25.0, low=0.01) * 1024 * 1024),
        blocked_extensions=tuple(
            e.lower() if e.startswith(".") else f".{e.lower()}"
            for e in (t.str_list("blocked_extensions") or LimitSettings.blocked_extensions)
        ),
    )
    t.done()
    return settings


def _conversations(t: Table) -> ConversationSettings:
    sender_format = t.text("sender_format", "{operator} — {office}")
    try:
        sender_format.format(operator="Mario Rossi", office="URP")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"conversations.sender_format: only {{operator}} and {{office}} may be used ({exc})"
        ) from None
    settings = ConversationSettings(
        reopen_days=t.integer("reopen_days", 30, 0, 3650), sender_format=sender_format
    )
    t.done()
    return settings


def _outbox(t: Table) -> OutboxSettings:
    settings = OutboxSettings(
        transport=t.text("transport", "smtp", ("smtp", "directory")),
        directory=Path(t.text("directory", "var/sent")),
        batch_size=t.integer("batch_size", 100, 1, 10_000),
        max_attempts=t.integer("max_attempts", 30, 1, 1000),
        retry_base_seconds=t.number("retry_base_seconds", 30.0, low=0.0),
        retry_max_seconds=t.number("retry_max_seconds", 3600.0, low=0.0),
        lease_seconds=t.number("lease_seconds", 600.0, low=1.0),
        deliver_until_seconds=t.duration("deliver_until", "3d"),
        sender=t.text("sender", "thread", ("thread", "process")),
    )
    t.done()
    return settings


def _offices(tables: list[Table], charter: CharterSettings) -> dict[str, OfficeSettings]:
    offices: dict[str, OfficeSettings] = {}
    for t in tables:
        office_id = t.identifier("id", "office", offices)
        operators = tuple(op.strip().lower() for op in t.str_list("operators"))
        for op in operators:
            if not looks_like_address(op):
                raise ConfigError(f"{t.where}.operators: {op!r} is not an email address")
        terms: dict[str, Term] = {}
        if "terms" in t.data:
            for term in t.tables("terms"):
                category = term.text("category")
                if charter.category(category) is None:
                    known = ", ".join(c.id for c in charter.categories)
                    raise ConfigError(
                        f"{term.where}.category: no category {category!r} (known: {known})"
                    )
                terms[category] = Term(
                    days=term.integer("days", None, 1, 365),
                    working_days=term.flag("working_days", t.data.get("working_days") is True),
                    refund_eur=term.number("refund_eur", float(t.data.get("refund_eur", 0) or 0)),
                    on_integration=term.text(
                        "on_integration",
                        str(t.data.get("on_integration", "pause")),
                        INTEGRATION_RULES,
                    ),
                )
                term.done()
        else:
            t.used.add("terms")
        offices[office_id] = OfficeSettings(
            id=office_id,
            name=t.text("name"),
            email=t.email("email"),
            operators=operators,
            response_days=t.integer("response_days", 30, 1, 365),
            working_days=t.flag("working_days", False),
            refund_eur=t.number("refund_eur", 0.0),
            terms=terms,
            manager=t.email("manager", ""),
            responsible=t.text("responsible", ""),
            phone=t.text("phone", ""),
            copy_to=t.email("copy_to", ""),
            on_integration=t.text("on_integration", "pause", INTEGRATION_RULES),
            approval=t.flag("approval", False),
            explicit_term="response_days" in t.data,
        )
        t.done()
    return offices
