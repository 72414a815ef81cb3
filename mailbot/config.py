"""TOML configuration → frozen settings. Every error names the key and what is wrong with it.

Relative paths (storage, Maildir, SQLite file, outbox directory) are relative to the working
directory, as for any command-line tool; the systemd unit sets it to the state directory.
Secrets are never required inline: `password_env` names an environment variable and
`password_file` a file. They are read when first needed, so commands that do not talk to a
server work without them.
"""

from __future__ import annotations

import codecs
import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailbot.errors import ConfigError
from mailbot.types import looks_like_address

CONFIG_ENV = "MAILBOT_CONFIG"
SECURITY_MODES = ("none", "starttls", "tls")
LANGUAGES = ("it", "en")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class Secret:
    """A password held by reference; `reveal()` reads it and names the key when it cannot."""

    key: str  # e.g. "mailboxes[0]" for error messages
    env: str = ""
    file: str = ""
    name: str = "password"  # the keys are <name>_env and <name>_file

    @property
    def configured(self) -> bool:
        return bool(self.env or self.file)

    def reveal(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(
                    f"{self.key}.{self.name}_env: environment variable {self.env} is not set"
                )
            return value
        if self.file:
            # $CREDENTIALS_DIRECTORY: systemd's LoadCredential= hands secrets over there.
            path = Path(os.path.expandvars(self.file))
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{self.key}.{self.name}_file: cannot read {path}: {exc.strerror}"
                ) from None
        return ""

    def __repr__(self) -> str:  # never print a password, even by accident
        return f"Secret(env={self.env!r}, file={self.file!r})"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    # Several `mailbot run` on one PostgreSQL: a mailbox is watched by the instance holding its
    # lease; one that stops renewing loses it after this long (see mailbot/leases.py).
    lease_seconds: float = 15.0


@dataclass(frozen=True)
class StorageSettings:
    path: Path


OAUTH_PROVIDERS = ("microsoft", "google", "generic")
OAUTH_FLOWS = ("client_credentials", "refresh_token")


@dataclass(frozen=True)
class OAuthSettings:
    """Sign-in with OAuth2 (SASL XOAUTH2) instead of a password: an access token from
    `token_url`, by the client-credentials grant or a refresh token."""

    key: str  # "mailboxes[0].oauth2", for messages
    provider: str
    flow: str
    token_url: str
    client_id: str
    client_secret: Secret
    refresh_token: Secret
    scope: str


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str
    password: Secret
    from_address: str
    from_name: str
    timeout: float
    ca_file: Path | None = None  # CA bundle to verify the relay's certificate (else system's)
    oauth: OAuthSettings | None = None  # auth = "oauth2": XOAUTH2 instead of the password


@dataclass(frozen=True)
class OutboxSettings:
    transport: str  # "smtp", or "directory" (write .eml files: demos, air-gapped tests)
    directory: Path
    batch_size: int
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    lease_seconds: float  # a claimed message is due again after this if its sender died
    deliver_until_seconds: float = 3 * 86400  # then failed, and the office told


@dataclass(frozen=True)
class MailboxSettings:
    name: str
    source: str  # "imap" | "maildir"
    office: str
    address: str  # where citizens write; Reply-To of what we send
    host: str = ""
    port: int = 0
    security: str = "none"
    username: str = ""
    password: Secret = Secret("mailboxes")
    folder: str = "INBOX"
    ca_file: Path | None = None
    path: Path = Path()
    batch_size: int = 50
    poll_seconds: float = 60.0
    idle: bool = True
    plus_address: bool = False  # the server delivers local+token@domain to this mailbox
    # A PEC box: what its cases send to citizens leaves through `smtp` (the PEC account), and
    # the provider's receipts for it are tracked per recipient.
    pec: bool = False
    # The receiving server authenticates every sender before delivery here (an internal
    # relay that refuses spoofed mail): the From address is trusted for a registry link.
    trust_from: bool = False
    # The mailbox's own outbound account for mail to citizens; None: the global [smtp].
    smtp: SmtpSettings | None = None
    oauth: OAuthSettings | None = None  # auth = "oauth2": XOAUTH2 instead of the password


@dataclass(frozen=True)
class ConversationSettings:
    reopen_days: int  # a follow-up reopens a case closed less than this many days ago
    sender_format: str  # display name of replies relayed to citizens


@dataclass(frozen=True)
class MatchingSettings:
    # authserv-ids of the receiving servers whose Authentication-Results are believed.
    trusted_authserv_ids: tuple[str, ...] = ()
    name_similarity: int = 90  # rapidfuzz score (0-100) for a name suggestion


REGISTRY_FIELDS = ("codice_fiscale", "name", "email", "pec", "postal_address")


@dataclass(frozen=True)
class RegistrySettings:
    """Which columns (CSV) or keys (JSON Lines) of an export hold each field; several columns
    are joined (name: with a space, postal address: with ", "; addresses: each read)."""

    columns: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {f: (f,) for f in REGISTRY_FIELDS}
    )
    delimiter: str = ""  # "" detects , ; tab or |
    encoding: str = ""  # "" detects UTF-8 (with or without BOM), else Windows-1252/Latin-1


@dataclass(frozen=True)
class PecSettings:
    ca_bundle: Path | None  # enables the chain check of providers' signatures


@dataclass(frozen=True)
class LimitSettings:
    """Automatic messages to outside recipients, at most this many per window: the brake on
    loops with auto-responders that detection missed."""

    per_recipient: int
    per_case: int
    window_minutes: int
    allow: tuple[str, ...]  # addresses or @domains never limited
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_message_bytes: int = 25 * 1024 * 1024
    blocked_extensions: tuple[str, ...] = (
        ".exe",
        ".bat",
        ".cmd",
        ".com",
        ".scr",
        ".pif",
        ".js",
        ".jse",
        ".vbs",
        ".vbe",
        ".wsf",
        ".msi",
        ".jar",
        ".ps1",
        ".hta",
        ".cpl",
        ".lnk",
        ".iso",
        ".img",
    )


@dataclass(frozen=True)
class Term:
    """A service-charter term: how long an office has for a reasoned reply."""

    days: int
    working_days: bool = False  # count working days (no weekends, no holidays)
    refund_eur: float = 0.0  # owed to the citizen when the term is missed (0: none)


@dataclass(frozen=True)
class OfficeSettings:
    id: str
    name: str
    email: str
    operators: tuple[str, ...]
    response_days: int
    working_days: bool = False
    refund_eur: float = 0.0
    terms: Mapping[str, Term] = field(default_factory=dict)  # category id → its own term
    manager: str = ""  # overdue cases are escalated here, once a day

    def term(self, category: str | None) -> Term:
        """The term for a case of `category` (the office's own when it sets none for it)."""
        if category and category in self.terms:
            return self.terms[category]
        return Term(self.response_days, self.working_days, self.refund_eur)


@dataclass(frozen=True)
class Category:
    id: str
    name: str  # Italian, as citizens and the annual report see it
    name_en: str
    keywords: tuple[str, ...] = ()  # a new case whose subject or text has one gets this category


# The complaint categories of a water utility's form (ARERA's quality regulation), the default.
DEFAULT_CATEGORIES = (
    Category(
        "late_reply", "Ritardo nella risposta a richieste scritte", "Late reply to written requests"
    ),
    Category(
        "missed_appointment",
        "Mancato rispetto della fascia di appuntamento",
        "Missed appointment window",
    ),
    Category("late_works", "Ritardo nell'esecuzione di lavori programmati", "Late scheduled works"),
    Category("late_emergency", "Ritardo nel pronto intervento", "Late emergency response"),
    Category("late_quote", "Ritardo nel preventivo", "Late quote"),
    Category("late_connection", "Ritardo nell'allacciamento", "Late connection"),
    Category("late_activation", "Ritardo nell'attivazione della fornitura", "Late activation"),
    Category(
        "late_termination", "Ritardo nella disattivazione della fornitura", "Late termination"
    ),
    Category("water_quality", "Qualità dell'acqua", "Water quality"),
    Category("billing_error", "Errore di fatturazione", "Billing error"),
    Category("other", "Altro", "Other"),
)


@dataclass(frozen=True)
class CharterSettings:
    local_holidays: tuple[str, ...] = ()  # "MM-DD" every year, or "YYYY-MM-DD"
    saturday_is_working_day: bool = False  # counted in working-day terms; no deadline moves
    digest_time: str = "08:00"  # local time of each office's daily reminder digest
    reminder_days: int = 3  # the digest lists cases due within this many days (and overdue)
    satisfaction_survey: bool = False  # the closing message asks for a 1-5 rating by reply
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


@dataclass(frozen=True)
class RetentionSettings:
    """How long closed cases keep their personal data; `mailbot purge` removes it after."""

    cases: str = "5y"  # an age: "5y" (calendar years) or "400d"


AGE = re.compile(r"^\s*(\d{1,4})\s*([yd])\s*$")


def parse_age(value: str, key: str) -> tuple[int, str]:
    """ "5y" → (5, "y"); "400d" → (400, "d"). Errors name `key`."""
    found = AGE.match(value.lower())
    if found is None or int(found.group(1)) == 0:
        raise ConfigError(f"{key}: expected an age like 5y or 400d, got {value!r}")
    return int(found.group(1)), found.group(2)


SPAM_FILTERS = ("spamassassin", "rspamd", "microsoft")
RSPAMD_ACTIONS = ("reject", "soft reject", "rewrite subject", "add header", "greylist")


@dataclass(frozen=True)
class SpamRule:
    """A header of another filter that marks spam: `pattern` searched in its value."""

    name: str
    header: str  # lower case
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class SpamSettings:
    """Whose spam verdict is honoured (see ingest/spam.py): the upstream filters' headers, as
    written by our own servers (`trusted_hosts`, the `by` of their Received lines), extra
    header rules, and optionally a local rspamd."""

    filters: tuple[str, ...] = SPAM_FILTERS
    trusted_hosts: tuple[str, ...] = ()
    microsoft_scl: int = 5  # SCL at or above this is spam (Microsoft: 5-6 spam, 9 high)
    rules: tuple[SpamRule, ...] = ()
    rspamd_url: str = ""
    rspamd_timeout: float = 10.0
    rspamd_actions: tuple[str, ...] = ("reject", "rewrite subject", "add header")
    on_rspamd_error: str = "defer"  # "defer": back off and ask again; "accept": not spam


@dataclass(frozen=True)
class MetricsSettings:
    """`mailbot run` serves /metrics and /healthz here; None: not at all."""

    host: str = ""
    port: int = 0

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo
    language: str
    templates_path: Path | None
    database: DatabaseSettings
    storage: StorageSettings
    smtp: SmtpSettings
    outbox: OutboxSettings
    mailboxes: tuple[MailboxSettings, ...]
    offices: Mapping[str, OfficeSettings]
    conversations: ConversationSettings = ConversationSettings(30, "{operator} — {office}")
    limits: LimitSettings = LimitSettings(5, 10, 60, ())
    pec: PecSettings = PecSettings(None)
    matching: MatchingSettings = MatchingSettings()
    registry: RegistrySettings = RegistrySettings()
    charter: CharterSettings = CharterSettings()
    metrics: MetricsSettings = MetricsSettings()
    retention: RetentionSettings = RetentionSettings()
    spam: SpamSettings = SpamSettings()
    source_path: Path | None = None

    def office(self, office_id: str) -> OfficeSettings:
        return self.offices[office_id]

    def mailbox(self, name: str) -> MailboxSettings:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise KeyError(name)


class _Table:
    """One TOML table being read: remembers its key path and which keys were consumed."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def _key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def _get(self, name: str, default: Any, kind: type | tuple[type, ...], what: str) -> Any:
        self.used.add(name)
        if name not in self.data:
            if default is _REQUIRED:
                raise ConfigError(f"{self._key(name)}: missing (required)")
            return default
        value = self.data[name]
        # bool is an int in Python; never accept true for a port.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise ConfigError(f"{self._key(name)}: expected {what}, got {_show(value)}")
        return value

    def text(self, name: str, default: Any = None, choices: tuple[str, ...] = ()) -> str:
        value: str = self._get(name, _REQUIRED if default is None else default, str, "a string")
        if choices and value not in choices:
            raise ConfigError(
                f"{self._key(name)}: must be one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def email(self, name: str, default: Any = None) -> str:
        value = self.text(name, default).strip().lower()
        if value and not looks_like_address(value):
            raise ConfigError(f"{self._key(name)}: {value!r} is not an email address")
        return value

    def integer(self, name: str, default: Any = None, low: int = 0, high: int = 2**31) -> int:
        value: int = self._get(
            name, _REQUIRED if default is None else default, int, "a whole number"
        )
        if not low <= value <= high:
            raise ConfigError(f"{self._key(name)}: must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float, low: float = 0.0) -> float:
        value = self._get(name, default, (int, float), "a number")
        if value < low:
            raise ConfigError(f"{self._key(name)}: must be at least {low}, got {value}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value: bool = self._get(name, default, bool, "true or false")
        return value

    def path_or_none(self, name: str) -> Path | None:
        value = self.text(name, "")
        if not value:
            return None
        if not Path(value).is_file():
            raise ConfigError(f"{self._key(name)}: {value} is not a readable file")
        return Path(value)

    def duration(self, name: str, default: str) -> float:
        """ "90m", "12h", "3d" → seconds."""
        value = self.text(name, default).strip().lower()
        found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", value)
        if found is None:
            raise ConfigError(
                f"{self._key(name)}: expected a duration like 90m, 12h or 3d, got {value!r}"
            )
        return float(found.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self._get(name, [], list, "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{self._key(name)}: expected a list of strings")
        return tuple(value)

    def table(self, name: str, required: bool = True) -> _Table:
        value = self._get(name, _REQUIRED if required else {}, dict, "a table")
        return _Table(value, self._key(name))

    def tables(self, name: str) -> list[_Table]:
        value = self._get(name, _REQUIRED, list, f"one or more [[{name}]] tables")
        if not value:
            raise ConfigError(f"{self._key(name)}: at least one [[{name}]] is required")
        if not all(isinstance(item, dict) for item in value):
            raise ConfigError(f"{self._key(name)}: expected [[{name}]] tables")
        return [_Table(item, f"{self._key(name)}[{i}]") for i, item in enumerate(value)]

    def secret(self, name: str = "password") -> Secret:
        env = self.text(f"{name}_env", "")
        file = self.text(f"{name}_file", "")
        if env and file:
            raise ConfigError(
                f"{self._key(name + '_env')}: set {name}_env or {name}_file, not both"
            )
        if name in self.data:
            raise ConfigError(
                f"{self._key(name)}: inline {name.replace('_', ' ')}s are not accepted; "
                f"use {name}_env (an environment variable) or {name}_file"
            )
        return Secret(self.where, env, file, name)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"{self._key(unknown[0])}: unknown key")


_REQUIRED = object()
_IMAP_ONLY = (
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "password_file",
    "folder",
    "idle",
    "ca_file",
    "auth",
    "oauth2",
)


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


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
    root = _Table(data, "")
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

    smtp = _smtp(root.table("smtp"))
    outbox = _outbox(root.table("outbox", required=False))
    conversations = _conversations(root.table("conversations", required=False))
    limits = _limits(root.table("limits", required=False))
    pec_table = root.table("pec", required=False)
    pec = PecSettings(ca_bundle=pec_table.path_or_none("ca_bundle"))
    pec_table.done()
    matching = _matching(root.table("matching", required=False))
    registry = _registry(root.table("registry", required=False))
    charter = _charter(root.table("charter", required=False), root)
    metrics = _metrics(root.table("metrics", required=False))
    retention_table = root.table("retention", required=False)
    retention = RetentionSettings(cases=retention_table.text("cases", "5y"))
    parse_age(retention.cases, "retention.cases")
    retention_table.done()
    spam = _spam(root.table("spam", required=False))
    offices = _offices(root.tables("offices"), charter)
    mailboxes = _mailboxes(root.tables("mailboxes"), offices, smtp.from_address)
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
    )


def _metrics(t: _Table) -> MetricsSettings:
    listen = t.text("listen", "").strip()
    t.done()
    if not listen:
        return MetricsSettings()
    found = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]\s]+):(\d{1,5})", listen)
    if found is None:
        raise ConfigError(f"metrics.listen: expected HOST:PORT like 127.0.0.1:9108, got {listen!r}")
    host = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    if not 0 < port < 65536:
        raise ConfigError(f"metrics.listen: port must be between 1 and 65535, got {port}")
    return MetricsSettings(host, port)


def _charter(t: _Table, root: _Table) -> CharterSettings:
    holidays = tuple(h.strip() for h in t.str_list("local_holidays"))
    for day in holidays:
        if not re.fullmatch(r"(\d{4}-)?(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", day):
            raise ConfigError(f"charter.local_holidays: {day!r} is neither MM-DD nor YYYY-MM-DD")
    digest_time = t.text("digest_time", "08:00")
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", digest_time):
        raise ConfigError(f"charter.digest_time: expected HH:MM, got {digest_time!r}")
    reminder_days = t.integer("reminder_days", 3, 0, 365)
    survey = t.flag("satisfaction_survey", False)
    saturday = t.flag("saturday_is_working_day", False)
    t.done()
    categories: list[Category] = []
    if "categories" in root.data:
        for c in root.tables("categories"):
            category_id = c.text("id")
            if not _ID.match(category_id):
                raise ConfigError(
                    f"{c.where}.id: {category_id!r} must be lower-case letters, digits, - or _"
                )
            if any(k.id == category_id for k in categories):
                raise ConfigError(f"{c.where}.id: category {category_id!r} is defined twice")
            name = c.text("name")
            categories.append(
                Category(
                    category_id,
                    name,
                    c.text("name_en", name),
                    tuple(k.strip().lower() for k in c.str_list("keywords") if k.strip()),
                )
            )
            c.done()
    else:
        root.used.add("categories")
    return CharterSettings(
        local_holidays=holidays,
        saturday_is_working_day=saturday,
        digest_time=digest_time,
        reminder_days=reminder_days,
        satisfaction_survey=survey,
        categories=tuple(categories) or DEFAULT_CATEGORIES,
    )


def _spam(t: _Table) -> SpamSettings:
    filters = t.str_list("filters") if "filters" in t.data else SPAM_FILTERS
    for name in filters:
        if name not in SPAM_FILTERS:
            raise ConfigError(f"spam.filters: {name!r} is not one of {', '.join(SPAM_FILTERS)}")
    hosts = tuple(h.strip().lower().rstrip(".") for h in t.str_list("trusted_hosts") if h.strip())
    rules = []
    for rule in t.tables("rules") if "rules" in t.data else []:
        pattern = rule.text("pattern")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"{rule.where}.pattern: not a regular expression: {exc}") from None
        header = rule.text("header").strip().lower()
        if not re.fullmatch(r"[!-9;-~]+", header):
            raise ConfigError(f"{rule.where}.header: {header!r} is not a header name")
        rules.append(SpamRule(rule.text("name", header), header, compiled))
        rule.done()
    url = t.text("rspamd_url", "").strip()
    if url and not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"spam.rspamd_url: expected http://host:port, got {url!r}")
    actions = tuple(a.strip().lower() for a in t.str_list("rspamd_actions")) or (
        SpamSettings.rspamd_actions
    )
    for action in actions:
        if action not in RSPAMD_ACTIONS:
            raise ConfigError(
                f"spam.rspamd_actions: {action!r} is not one of {', '.join(RSPAMD_ACTIONS)}"
            )
    settings = SpamSettings(
        filters=tuple(filters),
        trusted_hosts=hosts,
        microsoft_scl=t.integer("microsoft_scl", 5, 1, 9),
        rules=tuple(rules),
        rspamd_url=url,
        rspamd_timeout=t.duration("rspamd_timeout", "10s"),
        rspamd_actions=actions,
        on_rspamd_error=t.text("on_rspamd_error", "defer", ("defer", "accept")),
    )
    t.done()
    return settings


def _matching(t: _Table) -> MatchingSettings:
    ids = tuple(i.strip().lower() for i in t.str_list("trusted_authserv_ids") if i.strip())
    settings = MatchingSettings(
        trusted_authserv_ids=ids, name_similarity=t.integer("name_similarity", 90, 50, 100)
    )
    t.done()
    return settings


def _registry(t: _Table) -> RegistrySettings:
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
                f"got {_show(value)}"
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


def _limits(t: _Table) -> LimitSettings:
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


def _conversations(t: _Table) -> ConversationSettings:
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


def _smtp(t: _Table, default_from: str | None = None) -> SmtpSettings:
    username = t.text("username", "")
    oauth = _auth(t, "smtp")
    if oauth is not None and not username:
        raise ConfigError(f'{t.where}.username: missing (required with auth = "oauth2")')
    settings = SmtpSettings(
        host=t.text("host", "127.0.0.1"),
        port=t.integer("port", 25, 1, 65535),
        security=t.text("security", "none", SECURITY_MODES),
        username=username,
        password=t.secret(),
        from_address=t.email("from_address", default_from),
        from_name=t.text("from_name", ""),
        timeout=t.number("timeout_seconds", 30.0, low=1.0),
        ca_file=t.path_or_none("ca_file"),
        oauth=oauth,
    )
    t.done()
    return settings


# Token endpoints and scopes of the two big providers; "generic" gives its own.
_TOKEN_URLS = {
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    "google": "https://oauth2.googleapis.com/token",
}
_SCOPES = {
    ("microsoft", "client_credentials", "imap"): "https://outlook.office365.com/.default",
    ("microsoft", "client_credentials", "smtp"): "https://outlook.office365.com/.default",
    ("microsoft", "refresh_token", "imap"): (
        "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
    ),
    ("microsoft", "refresh_token", "smtp"): "https://outlook.office.com/SMTP.Send offline_access",
    ("google", "refresh_token", "imap"): "https://mail.google.com/",
    ("google", "refresh_token", "smtp"): "https://mail.google.com/",
}


def _auth(t: _Table, protocol: str) -> OAuthSettings | None:
    """`auth = "password"` (the default) or `"oauth2"` with an [….oauth2] table."""
    auth = t.text("auth", "password", ("password", "oauth2"))
    if auth == "password":
        if "oauth2" in t.data:
            raise ConfigError(f'{t.where}.oauth2: only used with auth = "oauth2"')
        return None
    if t.data.get("password_env") or t.data.get("password_file"):
        raise ConfigError(
            f"{t.where}.auth: oauth2 signs in with a token; remove password_env/password_file"
        )
    o = t.table("oauth2")
    provider = o.text("provider", None, OAUTH_PROVIDERS)
    flow = o.text("flow", "client_credentials", OAUTH_FLOWS)
    tenant = o.text("tenant", "")
    token_url = o.text("token_url", "")
    if not token_url:
        if provider == "generic":
            raise ConfigError(f"{o.where}.token_url: missing (required with provider = generic)")
        if provider == "microsoft" and not tenant:
            raise ConfigError(
                f"{o.where}.tenant: missing (the directory id or domain, e.g. "
                "comune.onmicrosoft.com; required with provider = microsoft)"
            )
        token_url = _TOKEN_URLS[provider].format(tenant=tenant)
    elif not re.match(r"^https?://", token_url):
        raise ConfigError(f"{o.where}.token_url: expected an http(s) URL, got {token_url!r}")
    if provider == "google" and flow == "client_credentials":
        raise ConfigError(
            f"{o.where}.flow: Google does not grant client credentials for mail; "
            'use flow = "refresh_token"'
        )
    client_secret = o.secret("client_secret")
    refresh_token = o.secret("refresh_token")
    if flow == "client_credentials" and not client_secret.configured:
        raise ConfigError(
            f"{o.where}.client_secret_env: missing (client_secret_env or client_secret_file "
            "is required with flow = client_credentials)"
        )
    if flow == "refresh_token" and not refresh_token.configured:
        raise ConfigError(
            f"{o.where}.refresh_token_env: missing (refresh_token_env or refresh_token_file "
            "is required with flow = refresh_token)"
        )
    scope = o.text("scope", "") or _SCOPES.get((provider, flow, protocol), "")
    settings = OAuthSettings(
        key=o.where,
        provider=provider,
        flow=flow,
        token_url=token_url,
        client_id=o.text("client_id"),
        client_secret=client_secret,
        refresh_token=refresh_token,
        scope=scope,
    )
    o.done()
    return settings


def _outbox(t: _Table) -> OutboxSettings:
    settings = OutboxSettings(
        transport=t.text("transport", "smtp", ("smtp", "directory")),
        directory=Path(t.text("directory", "var/sent")),
        batch_size=t.integer("batch_size", 100, 1, 10_000),
        max_attempts=t.integer("max_attempts", 30, 1, 1000),
        retry_base_seconds=t.number("retry_base_seconds", 30.0, low=0.0),
        retry_max_seconds=t.number("retry_max_seconds", 3600.0, low=0.0),
        lease_seconds=t.number("lease_seconds", 600.0, low=1.0),
        deliver_until_seconds=t.duration("deliver_until", "3d"),
    )
    t.done()
    return settings


def _offices(tables: list[_Table], charter: CharterSettings) -> dict[str, OfficeSettings]:
    offices: dict[str, OfficeSettings] = {}
    for t in tables:
        office_id = t.text("id")
        if not _ID.match(office_id):
            raise ConfigError(
                f"{t.where}.id: {office_id!r} must be lower-case letters, digits, - or _"
            )
        if office_id in offices:
            raise ConfigError(f"{t.where}.id: office {office_id!r} is defined twice")
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
        )
        t.done()
    return offices


def _mailboxes(
    tables: list[_Table], offices: Mapping[str, OfficeSettings], default_address: str
) -> tuple[MailboxSettings, ...]:
    result: list[MailboxSettings] = []
    for t in tables:
        name = t.text("name")
        if not _ID.match(name):
            raise ConfigError(
                f"{t.where}.name: {name!r} must be lower-case letters, digits, - or _"
            )
        if any(m.name == name for m in result):
            raise ConfigError(f"{t.where}.name: mailbox {name!r} is defined twice")
        source = t.text("source", "imap", ("imap", "maildir"))
        office = t.text("office")
        if office not in offices:
            known = ", ".join(offices) or "none"
            raise ConfigError(f"{t.where}.office: no office with id {office!r} (known: {known})")
        common: dict[str, Any] = {
            "name": name,
            "source": source,
            "office": office,
            "address": t.email("address", default_address),
            "poll_seconds": t.number("poll_seconds", 60.0 if source == "imap" else 5.0, low=0.1),
            "batch_size": t.integer("batch_size", 50, 1, 1000),
            "plus_address": t.flag("plus_address", False),
            "pec": t.flag("pec", False),
            "trust_from": t.flag("trust_from", False),
        }
        if "smtp" in t.data:
            common["smtp"] = _smtp(t.table("smtp"), default_from=common["address"])
        elif common["pec"]:
            raise ConfigError(
                f"{t.where}.smtp: missing (required with pec = true: answers to certified mail "
                "must leave through the PEC account, with its receipts)"
            )
        if source == "imap":
            security = t.text("security", "none", SECURITY_MODES)
            oauth = _auth(t, "imap")
            mailbox = MailboxSettings(
                **common,
                host=t.text("host"),
                port=t.integer("port", 993 if security == "tls" else 143, 1, 65535),
                security=security,
                username=t.text("username"),
                password=t.secret(),
                folder=t.text("folder", "INBOX"),
                idle=t.flag("idle", True),
                ca_file=t.path_or_none("ca_file"),
                oauth=oauth,
            )
        else:
            mailbox = MailboxSettings(**common, path=Path(t.text("path")))
        other = _IMAP_ONLY if source == "maildir" else ("path",)
        for key in other:
            if key in t.data:
                raise ConfigError(f"{t.where}.{key}: not used with source = {source!r}")
        t.done()
        result.append(mailbox)
    return tuple(result)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates are always verified: against `ca_file` when given (a private CA), else
    against the system's store."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"ca_file: cannot load {ca_file}: {exc}") from None
    return context
