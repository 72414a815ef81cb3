"""The `[web]` section: the online complaint form and the questionnaire page closing letters
link to (mailbot/web/), served when `listen` is set."""

from __future__ import annotations

import ipaddress
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
    rate_limit: str = "5 per hour"  # submissions filed per client address
    # Limits of the server itself (web/limits.py, web/server.py): every POST, filed or refused,
    # per client; connections open at once per client; seconds to send one whole request.
    attempt_limit: str = "20 per hour"
    connections_per_client: int = 10
    request_timeout: float = 60.0
    # The reverse proxies in front (addresses or networks): X-Forwarded-For/-Proto/-Host are
    # honoured only from these, the client being the rightmost hop that is not one of them.
    trusted_proxies: tuple[str, ...] = ()
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
    attempts = t.text("attempt_limit", "20 per hour").strip()
    per_client = t.integer("connections_per_client", 10, 1, 1000)
    timeout = t.duration("request_timeout", "60s")
    proxies = t.str_list("trusted_proxies")
    if t.flag("trusted_proxy", False):
        raise ConfigError(
            "web.trusted_proxy: replaced by web.trusted_proxies, the proxy's addresses "
            '(e.g. trusted_proxies = ["127.0.0.1"]): X-Forwarded-For is honoured only from them'
        )
    challenge = t.text("challenge", "").strip().lower()
    if challenge not in CHALLENGES:
        raise ConfigError(f'web.challenge: "altcha" or "" (none), got {challenge!r}')
    t.done()
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"web.trusted_proxies: {proxy!r} is not an IP address or network"
            ) from None
    if not listen:
        return WebSettings(public_url=public_url)
    host, port = parse_listen(listen, "web.listen", "127.0.0.1:8080")
    if public_url and not re.match(r"https?://[^\s/]+", public_url):
        raise ConfigError(f"web.public_url: expected an http(s):// address, got {public_url!r}")
    if mailbox not in mailboxes:
        raise ConfigError(f"web.mailbox: no mailbox {mailbox!r} (known: {', '.join(mailboxes)})")
    for key, value in (("rate_limit", rate), ("attempt_limit", attempts)):
        if not _RATE.fullmatch(value):
            raise ConfigError(
                f"web.{key}: expected like '5 per hour' or '10/minute', got {value!r}"
            )
    if timeout < 1:
        raise ConfigError(f"web.request_timeout: at least 1s, got {timeout:g}s")
    return WebSettings(
        host,
        port,
        public_url or f"http://{listen}",
        mailbox,
        max_mb,
        rate,
        attempts,
        per_client,
        timeout,
        proxies,
        challenge,
    )
