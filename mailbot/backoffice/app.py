"""The Flask application of the back office. Its parts install their own routes
(signin.install, cases.install, reports.install); this module sets what they all have: the
secret (mailbot's, so every instance accepts the others' cookies and forms), CSRF protection
(Flask-WTF), the security headers of the public desk (web/guards.py), the member of each
request, and the error pages: 404 for what does not exist or is not the member's to see (the
same page: a number says nothing), 403 for an action the role does not allow."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable

from flask import Flask, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import InternalServerError

from mailbot.backoffice import cases, reports, signin
from mailbot.backoffice.context import LANGUAGES, Office
from mailbot.log import get_logger
from mailbot.replies.render import templates_root
from mailbot.services import Services
from mailbot.web.clients import BehindProxies, networks
from mailbot.web.guards import protect

log = get_logger(__name__)
UPLOAD_MB = 25  # a reply's or a forward's attachments, together


def create_app(current: Callable[[], Services]) -> Flask:
    """The application; `current()` gives the services in force (the daemon's, on SIGHUP)."""
    services = current()
    settings = services.settings
    root = templates_root(settings)
    if not (root / "backoffice" / "base.html").is_file():  # a templates_path of mail only
        root = templates_root(dataclasses.replace(settings, templates_path=None))
    app = Flask(__name__, template_folder=str(root), static_folder=None)
    app.config.update(
        SECRET_KEY=hmac.new(services.secret, b"mailbot back office", hashlib.sha256).digest(),
        SESSION_COOKIE_NAME="mailbot_office",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.backoffice.public_url.startswith("https://"),
        MAX_CONTENT_LENGTH=UPLOAD_MB * 1024 * 1024 + 256 * 1024,
        MAX_FORM_MEMORY_SIZE=UPLOAD_MB * 1024 * 1024 + 256 * 1024,
        WTF_CSRF_TIME_LIMIT=12 * 3600,  # a reply may take a while to write
    )
    trusted = networks(settings.backoffice.trusted_proxies)
    app.wsgi_app = BehindProxies(app.wsgi_app, trusted)  # type: ignore[method-assign]
    CSRFProtect(app)
    protect(app)
    office = Office(current)
    app.extensions["mailbot.office"] = office
    # The pages the server sends itself, the request unread (web/server.py: 413, 429).
    app.extensions["mailbot.refusal"] = lambda code, key: office.error(code, key, mb=UPLOAD_MB)[0]
    app.before_request(office.load_member)
    app.add_url_rule("/lingua/<code>", view_func=_language, methods=["GET"])
    signin.install(app, office)
    cases.install(app, office)
    reports.install(app, office)
    app.register_error_handler(CSRFError, lambda e: office.error(400, "expired"))
    app.register_error_handler(403, lambda e: office.error(403, "forbidden"))
    app.register_error_handler(404, lambda e: office.error(404, "not_found"))
    app.register_error_handler(413, lambda e: office.error(413, "too_large", mb=UPLOAD_MB))

    def failed(error: InternalServerError) -> tuple[str, int]:
        cause = error.original_exception
        log.error("back office request failed", error=type(cause).__name__, detail=str(cause)[:200])
        return office.error(503, "unavailable")

    app.register_error_handler(InternalServerError, failed)
    return app


def _language(code: str) -> ResponseReturnValue:
    """The member's choice of language, for the pages that follow (back to where they were)."""
    if code in LANGUAGES:
        session["lang"] = code
    back = request.args.get("next", "/")
    return redirect(back if back.startswith("/") and not back.startswith("//") else "/", code=303)
