"""OAuth2 access tokens for IMAP and SMTP sign-in (SASL XOAUTH2): Microsoft 365, Google
Workspace, or any token endpoint.

Two grants: client credentials (Microsoft 365's app-only access: the app is granted the
mailbox in Exchange) and refresh token (a delegated consent done once by the admin; Google's
only way for a Workspace mailbox without a service account). A token is kept until a minute
before it expires, then fetched again; a refused sign-in drops it at once (`invalidate`), so a
revoked token costs one retry. A refresh token the provider rotates is kept for this process
(the next start uses the configured one again, which both providers keep valid).

The token request is one form POST (RFC 6749 §4.4 and §6) sent with the standard library:
the OAuth client libraries (msal, google-auth, authlib) bring their own HTTP stacks and
provider-specific flows this needs none of.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from mailbot.config import OAuthSettings
from mailbot.errors import ConfigError, TransientError
from mailbot.log import get_logger

log = get_logger(__name__)

EARLY_REFRESH_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 20.0


class TokenUnavailableError(TransientError):
    """The token endpoint could not be reached or answered 5xx: try again later."""


class TokenRefusedError(ConfigError):
    """The endpoint refused the client or the refresh token (4xx): an admin must act."""


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


class TokenSource:
    def __init__(
        self, settings: OAuthSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0
        self._refresh_token = ""  # a rotated one, when the provider sent it
        self.fetched = 0  # how many times a token was requested (checks, tests)

    def token(self) -> str:
        with self._lock:
            if self._token and self.clock() < self._expires - EARLY_REFRESH_SECONDS:
                return self._token
            self._token, lifetime = self._request()
            self._expires = self.clock() + lifetime
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = ""
            self._expires = 0.0

    def _form(self) -> dict[str, str]:
        s = self.settings
        form = {"client_id": s.client_id}
        if s.client_secret.configured:
            form["client_secret"] = s.client_secret.reveal()
        if s.flow == "client_credentials":
            form["grant_type"] = "client_credentials"
        else:
            form["grant_type"] = "refresh_token"
            form["refresh_token"] = self._refresh_token or s.refresh_token.reveal()
        if s.scope:
            form["scope"] = s.scope
        return form

    def _request(self) -> tuple[str, float]:
        s = self.settings
        body = urllib.parse.urlencode(self._form()).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the admin's https endpoint)
            s.token_url,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        self.fetched += 1
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = _error_text(exc)
            if 400 <= exc.code < 500:
                raise TokenRefusedError(
                    f"{s.key}: the token endpoint refused the sign-in ({exc.code}): {detail}"
                ) from None
            raise TokenUnavailableError(
                f"{s.key}: token endpoint {s.token_url} answered {exc.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TokenUnavailableError(
                f"{s.key}: token endpoint {s.token_url} unreachable: {reason}"
            ) from None
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenUnavailableError(f"{s.key}: the token endpoint sent no access_token")
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated:
            self._refresh_token = rotated
        try:
            lifetime = float(answer.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        log.info("oauth2 token obtained", oauth=s.key, expires_in=int(lifetime))
        return token, lifetime


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read())
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    if isinstance(payload, dict):
        text = str(payload.get("error", ""))
        description = str(payload.get("error_description", "")).splitlines()
        return f"{text}: {description[0]}" if description and description[0] else text
    return str(payload)
