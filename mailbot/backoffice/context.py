"""What every view of the back office shares: the services in force, the member signed in
(`member()`, None on the sign-in pages), the page's language (the member's choice, kept in the
session cookie, else `language` of the configuration) and the renderer of its pages."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from flask import Flask, abort, current_app, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue

from mailbot.backoffice import sessions
from mailbot.backoffice.words import words
from mailbot.log import get_logger
from mailbot.roles import Member
from mailbot.services import Services

LANGUAGES = ("it", "en")
SESSION_KEY = "sid"  # the session token, in Flask's signed cookie
_COURIER = "mailbot.courier"
log = get_logger(__name__)


def send_at_once(app: Flask, deliver: Callable[[], object]) -> None:
    """`mailbot backoffice` alone (no daemon to send): after the pages queue mail (a sign-in
    link, a reply, a forward), `deliver()` (the CLI's delivery pass) runs on a thread of its
    own, one at a time, so the page neither waits for the mail server nor takes longer for a
    member's address than for a stranger's. Under `mailbot run` the outbox loop sends."""
    app.extensions[_COURIER] = (ThreadPoolExecutor(1, thread_name_prefix="courier"), deliver)


class Office:
    def __init__(self, current: Callable[[], Services]) -> None:
        self.current = current

    @property
    def services(self) -> Services:
        return self.current()

    def language(self) -> str:
        chosen = session.get("lang")
        if chosen in LANGUAGES:
            return str(chosen)
        configured = self.services.settings.language
        return configured if configured in LANGUAGES else "it"

    def words(self) -> dict[str, str]:
        if "words" not in g:
            g.words = words(self.language())
        return dict(g.words)

    def load_member(self) -> None:
        """Before every request: who is signed in (g.member), from the session's token."""
        token = session.get(SESSION_KEY)
        g.member = sessions.member_for(self.services, token) if isinstance(token, str) else None

    def deliver_soon(self) -> None:
        """Mail was queued: with `send_at_once`, send it now, off the request's thread."""
        courier = current_app.extensions.get(_COURIER)
        if courier is None:  # `mailbot run`: the daemon's outbox loop sends it
            return
        executor, deliver = courier

        def attempt() -> None:
            try:
                deliver()
            except Exception as exc:  # the outbox keeps it; the next attempt retries
                log.warning("queued mail not delivered yet", error=type(exc).__name__)

        executor.submit(attempt)

    def member(self) -> Member | None:
        member: Member | None = g.get("member")
        return member

    def page(self, template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        """A page of templates/backoffice/, with the wording and the member."""
        settings = self.services.settings
        common = {
            "w": self.words(),
            "language": self.language(),
            "member": self.member(),
            "institution": settings.smtp.from_name,
        }
        return render_template(f"backoffice/{template}", **common, **values), status

    def error(self, status: int, key: str, **fields: Any) -> tuple[str, int]:
        message = self.words()[key].format(**fields)
        return self.page("error.html", status, message=message)


def signed_in(office: Office) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view only a signed-in member reaches; anyone else goes to the sign-in page, which
    brings them back here afterwards."""

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if office.member() is None:
                if request.method != "GET":
                    abort(403)
                return redirect(f"/accesso?next={quote(request.full_path.rstrip('?'))}", code=303)
            return view(*args, **kwargs)

        return wrapper

    return decorate
