"""TOML configuration → frozen settings. Every error names the key and what is wrong with it.

Relative paths (storage, Maildir, SQLite file, outbox directory) are relative to the working
directory, as for any command-line tool; the systemd unit sets it to the state directory.
Secrets are never required inline: `password_env` names an environment variable and
`password_file` a file. They are read when first needed, so commands that do not talk to a
server work without them.
A package: `settings` (the frozen dataclasses), `reader` with `mail_reader` and
`policy_reader` (TOML → settings), `table` (typed reading of one table), `defaults` (domain
data), `secrets`. Everything is imported from here.
"""

from __future__ import annotations

from mailbot.config.defaults import (
    ANONYMOUS_POLICIES,
    CHANNELS,
    DEFAULT_CATEGORIES,
    LANGUAGES,
    OAUTH_FLOWS,
    OAUTH_PROVIDERS,
    OUTCOMES,
    REGISTRY_FIELDS,
    RSPAMD_ACTIONS,
    SECURITY_MODES,
    SPAM_FILTERS,
    SUBMISSION_KINDS,
    Category,
)
from mailbot.config.indemnity import IndemnitySettings
from mailbot.config.protocol import ProtocolSettings
from mailbot.config.reader import CONFIG_ENV, config_path, load, parse
from mailbot.config.requests import RequestSettings
from mailbot.config.secrets import Secret
from mailbot.config.settings import (
    CharterSettings,
    ConversationSettings,
    DatabaseSettings,
    DeskSettings,
    LimitSettings,
    MailboxSettings,
    MatchingSettings,
    MetricsSettings,
    OAuthSettings,
    OfficeSettings,
    OutboxSettings,
    PecSettings,
    RegistrySettings,
    RetentionSettings,
    Settings,
    SmtpSettings,
    StorageSettings,
    Term,
)
from mailbot.config.spam_settings import SpamRule, SpamSettings
from mailbot.config.table import AGE, parse_age
from mailbot.config.web import WebSettings
from mailbot.errors import ConfigError

__all__ = [
    "AGE",
    "ANONYMOUS_POLICIES",
    "CHANNELS",
    "CONFIG_ENV",
    "DEFAULT_CATEGORIES",
    "LANGUAGES",
    "OAUTH_FLOWS",
    "OAUTH_PROVIDERS",
    "OUTCOMES",
    "REGISTRY_FIELDS",
    "RSPAMD_ACTIONS",
    "SECURITY_MODES",
    "SPAM_FILTERS",
    "SUBMISSION_KINDS",
    "Category",
    "CharterSettings",
    "ConfigError",
    "ConversationSettings",
    "DatabaseSettings",
    "DeskSettings",
    "IndemnitySettings",
    "LimitSettings",
    "MailboxSettings",
    "MatchingSettings",
    "MetricsSettings",
    "OAuthSettings",
    "OfficeSettings",
    "OutboxSettings",
    "PecSettings",
    "ProtocolSettings",
    "RegistrySettings",
    "RequestSettings",
    "RetentionSettings",
    "Secret",
    "Settings",
    "SmtpSettings",
    "SpamRule",
    "SpamSettings",
    "StorageSettings",
    "Term",
    "WebSettings",
    "config_path",
    "load",
    "parse",
    "parse_age",
]
