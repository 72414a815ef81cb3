"""What every page of the online desk carries against a hostile visitor: the security headers
(a Content-Security-Policy whose one inline style holds a fresh nonce, no framing, no
sniffing, no referrer: the questionnaire's token is in its address, and nothing the citizen
typed is kept in a cache), and the submission ids that make one form one case.

A submission id is drawn when the form is shown and signed with mailbot's secret in a hidden
field; the submission is filed with a Message-ID made of it, and the ledger takes one message
per Message-ID, so the same form posted twice (a refresh, a double click, a replay) files
once. The signature keeps a visitor from choosing the Message-ID.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, g
from itsdangerous import BadSignature, URLSafeSerializer

CSP = (
    "default-src 'self'; style-src 'self' 'nonce-{nonce}'; script-src 'self'; img-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def protect(app: Flask) -> None:
    """Every response gets the headers; templates get `nonce` for their inline style."""

    @app.context_processor
    def _nonce() -> dict[str, Any]:
        return {"nonce": _page_nonce()}

    @app.after_request
    def _headers(response: Response) -> Response:
        # A view may set a stricter policy of its own (the back office's annual report).
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = CSP.format(nonce=_page_nonce())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        # Every page may show back what a citizen typed, or a token: none is kept anywhere.
        response.headers["Cache-Control"] = "no-store"
        return response


def _page_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


class SubmissionIds:
    """Signed random ids, one for each form shown."""

    def __init__(self, secret: bytes) -> None:
        self._signer = URLSafeSerializer(secret, salt="mailbot web submission")

    def issue(self) -> str:
        return str(self._signer.dumps(secrets.token_hex(16)))

    def read(self, signed: str | None) -> str | None:
        """The id, or None for a missing or forged one."""
        try:
            value = self._signer.loads(signed or "")
        except BadSignature:
            return None
        if not isinstance(value, str) or len(value) != 32 or not value.isalnum():
            return None
        return value
