"""Single sign-on through the institution's OpenID Connect provider (`[backoffice.oidc]`): the
only importer of Authlib (its Flask client, over requests).

The provider is found by discovery (`<issuer>/.well-known/openid-configuration`); sign-in is
the authorization code flow with state, nonce and PKCE (S256), the state and the verifier kept
in the signed session cookie. On the way back (/accesso/sso/ritorno) Authlib exchanges the code
and verifies the ID token (signature by the provider's keys, issuer, audience, expiry, nonce);
the member is the staff directory's member with the address in `email_claim`, refused when the
provider says the address is not verified (`email_verified` false). Someone the directory does
not know gets a 403 page that names no one; a provider that cannot be reached, or a sign-in
denied or broken on its side, gets a page saying so and the form for a link by mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, request, session
from flask.typing import ResponseReturnValue

from mailbot.backoffice import links
from mailbot.backoffice.context import Office
from mailbot.cases import staff
from mailbot.db import unit_of_work
from mailbot.log import get_logger, mask_address

log = get_logger(__name__)

RETURN_PATH = "/accesso/sso/ritorno"
_TIMEOUT = 10  # seconds for each request to the provider
_NEXT = "sso_next"  # the page asked for, kept in the session across the provider's pages


def install(
    app: Flask,
    office: Office,
    enter: Callable[[str, str, str], ResponseReturnValue],
    page: Callable[..., ResponseReturnValue],
) -> None:
    """Adds /accesso/sso (off to the provider) and its return. `enter(address, via, next)`
    signs a member in; `page(status, message=...)` is the sign-in form with a message."""
    settings = office.services.settings.backoffice
    oidc = settings.oidc
    secret = oidc.client_secret.reveal() if oidc.client_secret.configured else None
    client: Any = OAuth(app).register(
        "institution",
        client_id=oidc.client_id,
        client_secret=secret,
        server_metadata_url=f"{oidc.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": oidc.scopes,
            "code_challenge_method": "S256",
            "default_timeout": _TIMEOUT,
            **({} if secret else {"token_endpoint_auth_method": "none"}),
        },
    )
    return_url = f"{settings.public_url}{RETURN_PATH}"
    words = office.words

    def start() -> ResponseReturnValue:
        session[_NEXT] = links.local_path(request.args.get("next"))
        try:
            response: ResponseReturnValue = client.authorize_redirect(return_url)
        except Exception as exc:  # the provider unreachable, its discovery broken
            log.warning("single sign-on unavailable", error=type(exc).__name__)
            return page(400, message=words()["sso_failed"])
        return response

    def back() -> ResponseReturnValue:
        next_path = links.local_path(session.pop(_NEXT, "/"))
        try:
            token = client.authorize_access_token()
        except Exception as exc:  # denied, a forged state, an ID token that does not verify
            log.warning("single sign-on failed", error=type(exc).__name__, detail=str(exc)[:120])
            return page(400, message=words()["sso_failed"], next_path=next_path)
        claims = token.get("userinfo") or {}
        address = claims.get(oidc.email_claim)
        if not isinstance(address, str) or "@" not in address:
            log.warning("single sign-on without an address", claim=oidc.email_claim)
            return page(403, message=words()["sso_not_staff"])
        if claims.get("email_verified") in (False, "false"):  # absent: the provider's word
            log.warning("single sign-on refused: address not verified", staff=mask_address(address))
            return page(403, message=words()["sso_unverified"])
        services = office.services
        with unit_of_work(services.engine) as db:
            member = staff.directory(services, db).member(address)
        if member is None:
            log.warning("single sign-on refused: not staff", address=mask_address(address))
            return page(403, message=words()["sso_not_staff"])
        return enter(address, "oidc", next_path)

    app.add_url_rule("/accesso/sso", "sso_start", start, methods=["GET"])
    app.add_url_rule(RETURN_PATH, "sso_return", back, methods=["GET"])
