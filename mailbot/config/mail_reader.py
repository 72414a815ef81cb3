"""The sections about mail servers: `[smtp]` and a mailbox's own account, OAuth2 sign-in,
and `[[mailboxes]]`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mailbot.config.defaults import (
    ANONYMOUS_POLICIES,
    OAUTH_FLOWS,
    OAUTH_PROVIDERS,
    OAUTH_SCOPES,
    OAUTH_TOKEN_URLS,
    SECURITY_MODES,
    SUBMISSION_KINDS,
)
from mailbot.config.settings import MailboxSettings, OAuthSettings, OfficeSettings, SmtpSettings
from mailbot.config.table import Table
from mailbot.errors import ConfigError

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


def read_smtp(t: Table, default_from: str | None = None) -> SmtpSettings:
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


def _auth(t: Table, protocol: str) -> OAuthSettings | None:
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
        token_url = OAUTH_TOKEN_URLS[provider].format(tenant=tenant)
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
    scope = o.text("scope", "") or OAUTH_SCOPES.get((provider, flow, protocol), "")
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


def read_mailboxes(
    tables: list[Table],
    offices: Mapping[str, OfficeSettings],
    default_address: str,
    desks: Mapping[str, object] | None = None,
) -> tuple[MailboxSettings, ...]:
    result: list[MailboxSettings] = []
    for t in tables:
        name = t.identifier("name", "mailbox", [m.name for m in result])
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
            "kind": t.text("kind", "reclamo", SUBMISSION_KINDS),
            "anonymous": t.text("anonymous", "accept", ANONYMOUS_POLICIES),
            "desk": t.text("desk", ""),
        }
        if common["desk"] and common["desk"] not in (desks or {}):
            known = ", ".join(desks or {}) or "none"
            raise ConfigError(f"{t.where}.desk: no desk {common['desk']!r} (known: {known})")
        if "smtp" in t.data:
            common["smtp"] = read_smtp(t.table("smtp"), default_from=common["address"])
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
