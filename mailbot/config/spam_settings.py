"""The `[spam]` section's settings: whose spam verdicts are honoured (see ingest/spam.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.config.defaults import SPAM_FILTERS


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
