"""The Flask application of the online desk: `/` is the complaint form, `/questionario/<token>`
the questionnaire of a closed case.

A submission is filed by `entry.file_submission` with channel "web" and the `[web] mailbox`,
so it is numbered, matched, confirmed and notified exactly like a mail; the daemon's outbox
loop sends the confirmation. The form is protected against cross-site posts (a CSRF token
signed with mailbot's secret, so every instance behind a balancer accepts the others' pages),
limited per client address (web/limits.py: `[web] attempt_limit` posts, `rate_limit` filed
submissions; X-Forwarded-For only from `trusted_proxies`, web/clients.py), and its attachments
to `[web] max_upload_mb` in all: a slightly larger upload gets the form back with its text and
a message, a larger body a 413 page (from the server, before the body is read: server.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlmodel import col, select
from werkzeug.exceptions import InternalServerError

from mailbot import entry
from mailbot.cases import survey
from mailbot.cases.workorders import CLOSED
from mailbot.db import unit_of_work
from mailbot.errors import InputError
from mailbot.ingest.addresses import typed_address
from mailbot.log import get_logger
from mailbot.models import WorkOrder
from mailbot.replies.render import templates_root
from mailbot.services import Services
from mailbot.types import Outcome
from mailbot.web import challenge, limits
from mailbot.web.clients import BehindProxies, networks
from mailbot.web.forms import MAX_FILES, MAX_TEXT, complaint_form, survey_form, words
from mailbot.web.guards import SubmissionIds, protect

log = get_logger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")
# The form's own fields around the files (the text up to 4 bytes a character, the rest, the
# multipart framing): a body larger than the cap plus this is refused by the server unread.
SLACK = 4 * MAX_TEXT + 176 * 1024


def body_limit(max_upload_mb: int) -> int:
    return max_upload_mb * 1024 * 1024 + SLACK


def create_app(current: Callable[[], Services]) -> Flask:
    """The application; `current()` gives the services in force (the daemon's change on SIGHUP)."""
    services = current()
    settings = services.settings
    cap = settings.web.max_upload_mb * 1024 * 1024
    root = templates_root(settings)
    if not (root / "web" / "base.html").is_file():  # a templates_path of mail templates only
        root = templates_root(dataclasses.replace(settings, templates_path=None))
    app = Flask(__name__, template_folder=str(root), static_folder=None)
    app.config.update(
        SECRET_KEY=hmac.new(services.secret, b"mailbot web form", hashlib.sha256).digest(),
        MAX_CONTENT_LENGTH=body_limit(settings.web.max_upload_mb),
        MAX_FORM_MEMORY_SIZE=body_limit(settings.web.max_upload_mb),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web.public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=6 * 3600,  # a citizen may take a while over the text
    )
    app.wsgi_app = BehindProxies(app.wsgi_app, networks(settings.web.trusted_proxies))  # type: ignore[method-assign]
    filing = limits.install(app, current)  # before the CSRF check: a refused post counts too
    CSRFProtect(app)
    protect(app)
    desk = _Desk(current, cap, root, SubmissionIds(app.config["SECRET_KEY"]))
    challenge.install(app, desk.challenge)  # [web] challenge: the proof of work, if any
    app.add_url_rule("/", view_func=filing(desk.complaint), methods=["GET", "POST"])
    app.add_url_rule("/ricevuta", view_func=desk.filed)
    app.add_url_rule("/questionario/<token>", view_func=desk.questionnaire, methods=["GET", "POST"])
    app.register_error_handler(CSRFError, lambda e: desk.error(400, "expired"))
    app.register_error_handler(413, lambda e: desk.error(413, "too_large"))
    app.register_error_handler(429, lambda e: desk.error(429, "too_many"))
    app.register_error_handler(404, lambda e: desk.error(404, "not_found"))
    app.register_error_handler(InternalServerError, desk.failed)
    app.extensions["mailbot.refusal"] = lambda status, key: desk.error(status, key)[0]
    return app


def refusal_page(app: Flask, status: int, key: str) -> str:
    """A page the server sends itself, the request unread (413: too large, 429: too many)."""
    with app.test_request_context():
        page: str = app.extensions["mailbot.refusal"](status, key)
    return page


class _Desk:
    """The pages, in the configured language."""

    def __init__(
        self, current: Callable[[], Services], cap: int, root: Path, ids: SubmissionIds
    ) -> None:
        settings = current().settings
        self.current = current
        self.ids = ids
        self.cap = cap
        self.language = settings.language
        shipped = self.language if (root / self.language / "web").is_dir() else "it"
        self.folder = f"{shipped}/web"
        self.text = words(self.language)
        self.challenge = challenge.Challenge(
            settings.web.challenge, current().secret, self.language
        )
        self.common = {
            "w": self.text,
            "language": shipped,
            "office": settings.smtp.from_name,
            "address": settings.smtp.from_address,
            "max_mb": settings.web.max_upload_mb,
            "privacy_notice": settings.charter.privacy_notice,  # a link, or the text itself
        }

    def page(self, template: str, status: int = 200, **values: Any) -> tuple[str, int]:
        return render_template(f"{self.folder}/{template}", **self.common, **values), status

    def error(self, status: int, key: str, title: str = "") -> tuple[str, int]:
        message = self.text[key].format(mb=self.common["max_mb"])
        return self.page("error.html", status, message=message, title=title)

    def failed(self, error: InternalServerError) -> tuple[str, int]:
        cause = error.original_exception
        log.error("web request failed", error=type(cause).__name__, detail=str(cause)[:200])
        return self.error(503, "unavailable")

    def complaint(self) -> ResponseReturnValue:
        form: Any = complaint_form(self.language)()
        if request.method == "GET":
            form.submission.data = self.ids.issue()
        if not form.validate_on_submit():
            return self.page("form.html", 400 if request.method == "POST" else 200, form=form)
        key = self.ids.read(form.submission.data)
        if key is None:  # no id, or one this site did not sign
            return self.error(400, "expired")
        solved = self.challenge.verify(request.form.get(challenge.FIELD, ""))
        if solved is None:  # no proof of work, or a forged or expired one: the form back
            return self.page("form.html", 400, form=form)
        if self.challenge.enabled:  # one solved challenge, one case, whatever form it came in
            key = solved
        files = [(f.filename or "allegato", f.read()) for f in form.files.data if f and f.filename]
        if len(files) > MAX_FILES:
            form.files.errors = [self.text["too_many_files"].format(max=MAX_FILES)]
        elif sum(len(payload) for _, payload in files) > self.cap:
            form.files.errors = [self.text["too_large"].format(mb=self.common["max_mb"])]
        if form.files.errors:
            return self.page("form.html", 413, form=form)
        services = self.current()
        submission = entry.Submission(
            channel="web",
            subject=form.subject.data.strip(),
            text=form.text.data,
            name=(form.name.data or "").strip(),
            email=typed_address(form.email.data or "") or "",  # the form checked it
            phone=(form.phone.data or "").strip(),
            attachments=files,
            mailbox=services.settings.web.mailbox,
            key=key,
        )
        try:
            outcome = entry.file_submission(services, submission, actor="web")
        except InputError as exc:  # the form checks what the CLI's messages speak of
            log.warning("web submission refused", error=str(exc))
            form.text.errors = [self.text["not_filed"]]
            return self.page("form.html", 400, form=form)
        return self._filed(services, outcome, submission)

    def _filed(
        self, services: Services, outcome: Outcome, submission: entry.Submission
    ) -> ResponseReturnValue:
        """Post/Redirect/Get: the thank-you page is a page of its own, so a refresh posts
        nothing; the same form posted again is answered with the case it opened."""
        if outcome.duplicate:
            number = entry.filed_case(services, submission.channel, submission.key)
            log.info("web submission posted again", work_order=number)
        else:
            g.filed = True  # committed: the number is the case's for good
            number = outcome.work_order_number
            log.info("web submission filed", status=outcome.status, work_order=number)
        session["filed"] = {"number": number, "email": bool(submission.email)}
        return redirect("/ricevuta", code=303)

    def filed(self) -> ResponseReturnValue:
        done = session.get("filed")
        if not isinstance(done, dict):
            return redirect("/", code=303)
        return self.page("filed.html", number=done.get("number"), email=done.get("email"))

    def questionnaire(self, token: str) -> ResponseReturnValue:
        """One answer per closed case. An unknown token, a case not closed and a survey not
        offered get the same page: the token is a secret, the page confirms nothing."""
        services = self.current()
        if not services.settings.charter.satisfaction_survey or not _TOKEN.fullmatch(token):
            return self.error(404, "no_survey")
        posted = request.method == "POST"
        with unit_of_work(services.engine) as db:
            query = (
                select(WorkOrder)
                .where(WorkOrder.reply_token == token)
                .where(col(WorkOrder.purged_at).is_(None))
            )
            case = db.exec(query.with_for_update() if posted else query).first()
            if case is None or case.status != CLOSED:
                return self.error(404, "no_survey")
            if survey.answered(db, case):
                return self.error(409 if posted else 200, "answered")
            asked = survey.questions(services.settings, self.language)
            form: Any = survey_form(len(asked), self.language)()
            if not form.validate_on_submit():
                fields = [(question, form[f"q{n}"]) for n, question in enumerate(asked)]
                status = 400 if posted else 200
                return self.page(
                    "survey.html", status, form=form, fields=fields, number=case.number
                )
            scores = tuple(int(form[f"q{n}"].data) for n in range(len(asked)))
            answer = survey.Answer(scores, (form.comment.data or "").strip())
            survey.record(db, case, answer, asked, channel="web", actor="web")
            number = case.number
        log.info("web questionnaire answered", work_order=number)
        return self.page("thanks.html", number=number)
