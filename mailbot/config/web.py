"""The `[web]` section: the online complaint form and the questionnaire page closing letters
link to (mailbot/web/), served when `listen` is set."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.config.table import Table
from mailbot.errors import ConfigError

_LISTEN = re.compile(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]\s]+):(\d{1,5})")
CHALLENGES = ("", "altcha")
_RATE = re.compile(r"\d+\s*(?:/|per)\s*(?:\d+\s*)?(?:second|minute|hour|day)s?", re.IGNORECASE)


@dataclass(frozen=True)
class WebSettings:
    host: str = ""  # "": no web form
    port: int = 0
    public_url: str = ""  # how citizens reach it (links in letters); "" : no link
    mailbox: str = ""  # whose office, kind and anonymous policy a web case takes
    max_upload_mb: int = 10  # the attachments of one submission, together
    rate_limit: str = "5 per hour"  # submissions per client address
    trusted_proxy: bool = False  # take the client's address from X-Forwarded-For
    challenge: str = ""  # "altcha": a proof of work the browser solves (web/challenge.py)

    @property
    def enabled(self) -> bool:
        return bool(self.host)


def parse_listen(value: str, key: str, example: str) -> tuple[str, int]:
    found = _LISTEN.fullmatch(value)
    if found is None:
        raise ConfigError(f"{key}: expected HOST:PORT like {example}, got {value!r}")
    port = int(found.group(2) or found.group(4))
    if not 0 < port < 65536:
        raise ConfigError(f"{key}: port must be between 1 and 65535, got {port}")
    return found.group(1) or found.group(3), port


def read_web(t: Table, mailboxes: tuple[str, ...]) -> WebSettings:
    listen = t.text("listen", "").strip()
    public_url = t.text("public_url", "").strip().rstrip("/")
    mailbox = t.text("mailbox", mailboxes[0] if mailboxes else "")
    max_mb = t.integer("max_upload_mb", 10, 1, 100)
    rate = t.text("rate_limit", "5 per hour").strip()
    proxy = t.flag("trusted_proxy", False)
    challenge = t.text("challenge", "").strip().lower()
    if challenge not in CHALLENGES:
        raise ConfigError(f'web.challenge: "altcha" or "" (none), got {challenge!r}')
    t.done()
    if not listen:
        return WebSettings(public_url=public_url)
    host, port = parse_listen(listen, "web.listen", "127.0.0.1:8080")
    if public_url and not re.match(r"https?://[^\s/]+", public_url):
        raise ConfigError(f"web.public_url: expected an http(s):// address, got {public_url!r}")
    if mailbox not in mailboxes:
        raise ConfigError(f"web.mailbox: no mailbox {mailbox!r} (known: {', '.join(mailboxes)})")
    if not _RATE.fullmatch(rate):
        raise ConfigError(
            f"web.rate_limit: expected like '5 per hour' or '10/minute', got {rate!r}"
        )
    return WebSettings(
        host, port, public_url or f"http://{listen}", mailbox, max_mb, rate, proxy, challenge
    )
