"""The back office's sign-in pages: a one-time link mailed to the member's institutional
address (the links themselves: links.py), single sign-on when `[backoffice.oidc]` is set
(oidc.py), and sign-out.

- GET /accesso: the form (the address; the single sign-on button); `next` is kept, a path of
  this site only. POST /accesso: the same answer whether or not the address is a member's; a
  member gets a link by mail (at most links.LINKS_PER_HOUR an hour).
- GET /accesso/<token>: a page with a "Sign in" button, so that a mail scanner that opens
  links does not use one up; POST: the link used (once), a new session, off to the page asked
  for. A used, expired or unknown link: the form again, saying so; never a 5xx.
- POST /esci: the session ended.

Every sign-in starts a new Flask session (no fixation: whatever cookie the browser brought
is dropped) and is recorded in the audit trail (links.start_session).

The mail leaves through the outbox: under `mailbot run` the daemon's outbox loop sends it
within its poll interval; `mailbot backoffice` alone hands the app a courier (`send_at_once`)
that delivers after each link is queued, off the request's thread.
"""

from __future__ import annotations

import re

from flask import Flask, redirect, request, session
from flask.typing import ResponseReturnValue

from mailbot.backoffice import links, oidc, sessions
from mailbot.backoffice.context import SESSION_KEY, Office
from mailbot.log import get_logger

log = get_logger(__name__)

_ADDRESS = re.compile(r"[^@\s<>\"']{1,64}@[^@\s<>\"']{1,253}\.[^@\s<>\"']{2,63}")
_NOTICE = "notice"  # a message for the next page (after sign-out), in the session
_FAILED = {links.USED: 410, links.EXPIRED: 410, links.UNKNOWN: 404}


def install(app: Flask, office: Office) -> None:
    """Adds the sign-in routes (and single sign-on's, when configured) to `app`."""
    pages = _Pages(office, app)
    app.add_url_rule("/accesso", "signin", pages.form, methods=["GET"])
    app.add_url_rule("/accesso", "signin_ask", pages.ask, methods=["POST"])
    app.add_url_rule("/accesso/<token>", "signin_link", pages.link, methods=["GET"])
    app.add_url_rule("/accesso/<token>", "signin_use", pages.use, methods=["POST"])
    app.add_url_rule("/esci", "signout", pages.sign_out, methods=["POST"])
    if office.services.settings.backoffice.oidc.enabled:
        oidc.install(app, office, pages.enter, pages.form_page)


class _Pages:
    def __init__(self, office: Office, app: Flask) -> None:
        self.office = office
        self.app = app

    def form_page(
        self, status: int = 200, message: str = "", error: str = "", next_path: str = "/"
    ) -> ResponseReturnValue:
        oidc_settings = self.office.services.settings.backoffice.oidc
        words = self.office.words()
        return self.office.page(
            "signin.html",
            status,
            next_path=next_path,
            message=message,
            error=error,
            address=request.form.get("address", "") if request.method == "POST" else "",
            sso=(oidc_settings.label or words["sso_button"]) if oidc_settings.enabled else "",
        )

    def form(self) -> ResponseReturnValue:
        next_path = links.local_path(request.args.get("next"))
        if self.office.member() is not None:
            return redirect(next_path, code=303)
        notice = session.pop(_NOTICE, "")
        message = self.office.words().get(notice, "") if notice == "signed_out" else ""
        return self.form_page(message=message, next_path=next_path)

    def ask(self) -> ResponseReturnValue:
        next_path = links.local_path(request.form.get("next"))
        address = request.form.get("address", "").strip()
        words = self.office.words()
        if len(address) > 320 or not _ADDRESS.fullmatch(address):
            return self.form_page(400, error=words["address_invalid"], next_path=next_path)
        services = self.office.services
        if links.mail_link(services, address, next_path):
            self.office.deliver_soon()
        minutes = services.settings.backoffice.link_minutes
        message = words["link_sent"].format(address=address, minutes=minutes)
        return self.form_page(message=message, next_path=next_path)

    def link(self, token: str) -> ResponseReturnValue:
        found = links.state(self.office.services, token)
        if found != links.VALID:
            return self._refused(found)
        return self.office.page("signin_link.html", token=token)

    def use(self, token: str) -> ResponseReturnValue:
        redeemed = links.redeem(self.office.services, token)
        if isinstance(redeemed, str):
            return self._refused(redeemed)
        address, next_path = redeemed
        return self.enter(address, "link", next_path)

    def _refused(self, why: str) -> ResponseReturnValue:
        return self.form_page(_FAILED.get(why, 404), message=self.office.words()[f"link_{why}"])

    def enter(self, address: str, via: str, next_path: str) -> ResponseReturnValue:
        """Signs the member at `address` in: a new session in a new cookie, then the page."""
        services = self.office.services
        self._drop_session()
        session[SESSION_KEY] = links.start_session(services, address, via)
        return redirect(links.local_path(next_path), code=303)

    def sign_out(self) -> ResponseReturnValue:
        self._drop_session()
        session[_NOTICE] = "signed_out"
        return redirect("/accesso", code=303)

    def _drop_session(self) -> None:
        """The session in the cookie ended, the cookie emptied (its language kept)."""
        old = session.get(SESSION_KEY)
        if isinstance(old, str):
            sessions.end_session(self.office.services, old)
        language = session.get("lang")
        session.clear()
        if language is not None:
            session["lang"] = language
