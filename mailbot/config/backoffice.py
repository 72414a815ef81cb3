"""The `[backoffice]` section: the staff's back office (mailbot/backoffice/), served when
`listen` is set, and `[backoffice.oidc]`, the institution's OpenID Connect provider for single
sign-on. Without a provider a member signs in with a one-time link sent to an address the staff
directory knows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailbot.config.secrets import Secret
from mailbot.config.table import Table
from mailbot.config.web import parse_listen
from mailbot.errors import ConfigError


@dataclass(frozen=True)
class OidcSettings:
    issuer: str = ""  # "": no single sign-on; discovery at ISSUER/.well-known/openid-configuration
    client_id: str = ""
    client_secret: Secret = Secret("backoffice.oidc", name="client_secret")
    scopes: str = "openid email profile"
    email_claim: str = "email"  # the claim that holds the member's institutional address
    label: str = ""  # the sign-in button's text ("" : "Accedi con il sistema dell'ente")

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)


@dataclass(frozen=True)
class BackOfficeSettings:
    host: str = ""  # "": no back office
    port: int = 0
    public_url: str = ""  # how staff reach it: sign-in links and the case links in mail
    link_minutes: int = 15  # a sign-in link's life; it is good for one sign-in only
    session_hours: int = 10  # a session's life since sign-in (a working day)
    idle_minutes: int = 120  # a session unused this long ends
    oidc: OidcSettings = OidcSettings()
    trusted_proxies: tuple[str, ...] = ()
    # A new case's attachments travel with the office's notification up to this much together;
    # the rest are listed and downloaded from the case's page (only with a public_url).
    mail_attachments_kb: int = 256

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def case_url(self, number: str) -> str:
        """The case's page, for the links in staff mail ("" without a back office)."""
        if not self.public_url:
            return ""
        return f"{self.public_url}/pratiche/{number.replace('/', '-')}"


def read_backoffice(t: Table) -> BackOfficeSettings:
    listen = t.text("listen", "").strip()
    public_url = t.text("public_url", "").strip().rstrip("/")
    link_minutes = t.integer("link_minutes", 15, 1, 24 * 60)
    session_hours = t.integer("session_hours", 10, 1, 24 * 7)
    idle_minutes = t.integer("idle_minutes", 120, 5, 24 * 60 * 7)
    proxies = t.str_list("trusted_proxies")
    mail_attachments_kb = t.integer("mail_attachments_kb", 256, 0, 25 * 1024)
    oidc = _oidc(t.table("oidc", required=False))
    t.done()
    if not listen:
        return BackOfficeSettings()
    host, port = parse_listen(listen, "backoffice.listen", "127.0.0.1:8026")
    if public_url and not re.match(r"https?://[^\s/]+", public_url):
        raise ConfigError(
            f"backoffice.public_url: expected an http(s):// address, got {public_url!r}"
        )
    return BackOfficeSettings(
        host,
        port,
        public_url or f"http://{listen}",
        link_minutes,
        session_hours,
        idle_minutes,
        oidc,
        proxies,
        mail_attachments_kb,
    )


def _oidc(t: Table) -> OidcSettings:
    issuer = t.text("issuer", "").strip().rstrip("/")
    client_id = t.text("client_id", "").strip()
    secret = t.secret("client_secret")
    scopes = t.text("scopes", "openid email profile").strip()
    email_claim = t.text("email_claim", "email").strip()
    label = t.text("label", "").strip()
    t.done()
    if not issuer:
        return OidcSettings()
    if not re.match(r"https?://[^\s/]+", issuer):
        raise ConfigError(f"backoffice.oidc.issuer: expected an http(s):// address, got {issuer!r}")
    if not client_id:
        raise ConfigError("backoffice.oidc.client_id: required with an issuer")
    if "openid" not in scopes.split():
        raise ConfigError(f"backoffice.oidc.scopes: must include openid, got {scopes!r}")
    return OidcSettings(issuer, client_id, secret, scopes, email_claim or "email", label)
