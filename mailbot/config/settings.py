"""The frozen settings every part of mailbot is given, one dataclass per section."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.config.backoffice import BackOfficeSettings
from mailbot.config.defaults import (
    BLOCKED_EXTENSIONS,
    DEFAULT_CATEGORIES,
    REGISTRY_FIELDS,
    Category,
)
from mailbot.config.indemnity import IndemnitySettings
from mailbot.config.protocol import ProtocolSettings
from mailbot.config.reply_checks import ReplyChecksSettings
from mailbot.config.requests import RequestSettings
from mailbot.config.secrets import Secret
from mailbot.config.spam_settings import SpamSettings
from mailbot.config.web import WebSettings
from mailbot.roles import Directory, Member


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    # Several `mailbot run` on one PostgreSQL: a mailbox is watched by the instance holding its
    # lease; one that stops renewing loses it after this long (see mailbot/runtime/leases.py).
    lease_seconds: float = 15.0


@dataclass(frozen=True)
class StorageSettings:
    path: Path


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
    sender: str = "thread"  # the daemon sends from a "thread" of its own or a "process"


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
    kind: str = "reclamo"  # what its cases are, until an operator says otherwise (#tipo)
    anonymous: str = "accept"  # or "ask": a sender without a name is asked for it first
    desk: str = ""  # a desk's own mailbox: its cases are the desk's (it relays their answers)


@dataclass(frozen=True)
class ConversationSettings:
    reopen_days: int  # a follow-up reopens a case closed less than this many days ago
    sender_format: str  # display name of replies relayed to citizens


@dataclass(frozen=True)
class MatchingSettings:
    # authserv-ids of the receiving servers whose Authentication-Results are believed.
    trusted_authserv_ids: tuple[str, ...] = ()
    name_similarity: int = 90  # rapidfuzz score (0-100) for a name suggestion


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
    blocked_extensions: tuple[str, ...] = BLOCKED_EXTENSIONS


@dataclass(frozen=True)
class Term:
    """A service-charter term: how long an office has for a reasoned reply."""

    days: int
    working_days: bool = False  # count working days (no weekends, no holidays)
    refund_eur: float = 0.0  # owed to the citizen when the term is missed (0: none)
    # What the citizen's answer to a suspension (#sospendi) does to the clock: "pause" (the
    # days already run still count) or "restart" (the term runs anew from the answer).
    on_integration: str = "pause"


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
    responsible: str = ""  # the person responsible, named in the letters to citizens
    phone: str = ""  # the office's phone number, in the letters to citizens
    copy_to: str = ""  # an address (the URP) copied on every reply relayed to a citizen
    on_integration: str = "pause"  # the office's default for its terms (see Term)
    # Operators' replies wait for the office's responsible (#approva) before they leave.
    approval: bool = False
    explicit_term: bool = False  # `response_days` is set: it wins over [charter.requests]

    def term(self, category: str | None) -> Term:
        """The term for a case of `category` (the office's own when it sets none for it)."""
        if category and category in self.terms:
            return self.terms[category]
        return Term(self.response_days, self.working_days, self.refund_eur, self.on_integration)


@dataclass(frozen=True)
class DeskSettings:
    """A desk (sportello) of a network: it opens cases and remains the citizen's interface for
    them; the competent office's answer reaches the citizen through it."""

    id: str
    name: str
    email: str  # where the office's answers to relay arrive
    phone: str = ""


@dataclass(frozen=True)
class CharterSettings:
    local_holidays: tuple[str, ...] = ()  # "MM-DD" every year, or "YYYY-MM-DD"
    saturday_is_working_day: bool = False  # counted in working-day terms; no deadline moves
    digest_time: str = "08:00"  # local time of each office's daily reminder digest
    reminder_days: int = 3  # the digest lists cases due within this many days (and overdue)
    satisfaction_survey: bool = False  # the closing message asks for a 1-5 rating by reply
    privacy_notice: str = ""  # the privacy notice (text or link) the confirmation carries
    redress: str = ""  # where an unsatisfied citizen can turn, in the closing letter
    refund_pay_days: int = 20  # a refund due is paid within this many days of being due…
    refund_late_factor: float = 2.0  # …or multiplied by this
    survey_questions: tuple[str, ...] = ()  # the questionnaire (1-5 each); none: one question
    indemnity: IndemnitySettings = IndemnitySettings()  # [charter.indemnity]: late-reply rules
    requests: RequestSettings = RequestSettings()  # [charter.requests]: kinds and their terms
    reply_checks: ReplyChecksSettings = ReplyChecksSettings()  # [charter.reply_checks]
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


@dataclass(frozen=True)
class RetentionSettings:
    """How long closed cases keep their personal data; `mailbot purge` removes it after."""

    cases: str = "5y"  # an age: "5y" (calendar years) or "400d"


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
    web: WebSettings = WebSettings()
    backoffice: BackOfficeSettings = BackOfficeSettings()
    protocol: ProtocolSettings = ProtocolSettings()
    desks: Mapping[str, DeskSettings] = field(default_factory=dict)
    # Everyone on the institution's side the configuration names: `[[staff]]`, then what the
    # offices' operators, manager and copy_to imply (config/staff_reader.py).
    staff: tuple[Member, ...] = ()
    source_path: Path | None = None

    @property
    def directory(self) -> Directory:
        """The configured members (the database's are added by cases/staff.py)."""
        return Directory(self.staff)

    def office(self, office_id: str) -> OfficeSettings:
        return self.offices[office_id]

    def mailbox(self, name: str) -> MailboxSettings:
        for mailbox in self.mailboxes:
            if mailbox.name == name:
                return mailbox
        raise KeyError(name)
