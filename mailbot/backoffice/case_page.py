"""The case page `/pratiche/<YYYY-NNNNNN>` and its attachments' downloads: the whole
conversation, the state and the deadline, the citizen's contact data, the register fields, the
history and the views, with the forms of the actions the member's roles allow
(`access.allowed`). A case the member may not see is a 404, as one that does not exist. Every
GET of the page or of an attachment is recorded (`views.record_view`, via "web")."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from flask import Flask, abort, request, send_file
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from mailbot.backoffice.context import Office, signed_in
from mailbot.cases import access, reply_checks, views, wording
from mailbot.cases.workorders import CLOSED, SUSPENDED
from mailbot.config import CHANNELS, OUTCOMES, SUBMISSION_KINDS
from mailbot.db import unit_of_work
from mailbot.models import ConversationMessage, Event, StoredAttachment, WorkOrder, utcnow
from mailbot.roles import Member

_NUMBER = re.compile(r"^(\d{4})-(\d{6})$")
# Confirmations after an action (`?fatto=`): the words key of each.
DONE = ("reply", "note", "assign", "suspend", "extend", "classify", "outcome", "close",
        "reopen", "forward", "transcript")  # fmt: skip


def number_of(slug: str) -> str:
    """2026-000001 (the URL) → 2026/000001 (the case's number); anything else: 404."""
    found = _NUMBER.match(slug)
    if found is None:
        abort(404)
    return f"{found.group(1)}/{found.group(2)}"


def install(app: Flask, office: Office) -> None:
    @signed_in(office)
    def case_page(slug: str) -> ResponseReturnValue:
        return render_case(office, number_of(slug))

    @signed_in(office)
    def attachment(slug: str, attachment_id: int) -> ResponseReturnValue:
        return _download(office, number_of(slug), attachment_id)

    app.add_url_rule("/pratiche/<slug>", "case_page", case_page, methods=["GET"])
    app.add_url_rule(
        "/pratiche/<slug>/allegati/<int:attachment_id>", "case_attachment", attachment,
        methods=["GET"],
    )  # fmt: skip


def render_case(
    office: Office,
    number: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    failed: str = "",
) -> ResponseReturnValue:
    """The page; after a refused action (`failed`) with the `errors` and the typed `form`."""
    services, member = office.services, office.member()
    assert member is not None
    settings = services.settings
    with unit_of_work(services.engine) as session:
        case = access.case_for(session, member, number)
        if case is None:
            abort(404)
        if request.method == "GET":
            views.record_view(session, number, actor=member.address, via="web")
            session.flush()
        detail = views.show_work_order(
            session, number, settings.timezone, settings.charter.refund_late_factor
        )
        values = case_values(office, session, member, case)
    done = request.args.get("fatto", "") if request.method == "GET" else ""
    return office.page(
        "case.html", status, case=case, detail=detail, errors=errors or {}, form=form or {},
        failed=failed, done=done if done in DONE else "", **values,
    )  # fmt: skip


def case_values(
    office: Office, session: Session, member: Member, case: WorkOrder
) -> dict[str, Any]:
    services = office.services
    words = office.words()
    settings, clock, language = services.settings, services.clock, office.language()
    assert case.id is not None
    messages = list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == case.id)
            .order_by(col(ConversationMessage.id))
        )
    )
    files: dict[int, list[StoredAttachment]] = {}
    for item in session.exec(
        select(StoredAttachment)
        .where(col(StoredAttachment.message_id).in_([m.id for m in messages]))
        .order_by(col(StoredAttachment.id))
    ):
        files.setdefault(item.message_id, []).append(item)
    events = session.exec(
        select(Event)
        .where(Event.work_order_id == case.id)
        .where(Event.kind != views.VIEWED)
        .order_by(col(Event.id))
    ).all()
    days_left = (clock.local_day(case.due_at) - clock.today()).days
    tz = settings.timezone
    return {
        "slug": case.number.replace("/", "-"),
        "messages": [
            {
                "row": m,
                "files": files.get(m.id or 0, []),
                "kind": wording.label("message_kind", m.kind, language),
                "when": wording.when(m.date, tz, language),
            }
            for m in messages
        ],
        "files": [f for m in messages for f in files.get(m.id or 0, []) if f.sha256],
        "events": [
            {
                "when": wording.when(e.at, tz, language),
                "actor": e.actor,
                "what": wording.label("event", e.kind, language),
                "data": _data(e.data, words),
            }
            for e in events
        ],
        "status_text": wording.label("status", "void" if case.voided_at else case.status, language),
        "channel_text": wording.label("channel", case.channel, language),
        "due_text": wording.day(case.due_at, tz, language),
        "received_text": wording.when(case.received_at, tz, language),
        "reasoned_text": wording.when(case.reasoned_reply_at, tz, language),
        "suspended_text": wording.day(case.suspended_at, tz, language),
        "days_left": days_left,
        "late": case.status != CLOSED and case.reasoned_reply_at is None and case.due_at < utcnow(),
        "suspended": case.status == SUSPENDED,
        "allowed": access.allowed(member, case),
        # A regulated complaint: the reply form lists what its reasoned reply must hold.
        "required": reply_checks.names(reply_checks.BY_ID, language)
        if reply_checks.applies(services, case)
        else [],
        "offices": sorted(settings.offices.values(), key=lambda o: o.name),
        "categories": settings.charter.categories,
        "kinds": SUBMISSION_KINDS,
        "outcomes": OUTCOMES,
        "channels": CHANNELS,
        "when": lambda value: wording.when(wording.parse_iso(value), tz, language),
    }


# The details of an event a reader needs (the rest are ids and flags for machines).
EVENT_DETAILS = ("reason", "office", "previous", "days", "to", "category", "number", "outcome")


def _data(text: str, words: dict[str, str]) -> str:
    """An event's details in one line (reason, office, days…), in the page's words."""
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    shown = [(key, data[key]) for key in EVENT_DETAILS if data.get(key) not in (None, "", [])]
    return "; ".join(
        f"{words['event_' + key]}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for key, v in shown
    )


def _download(office: Office, number: str, attachment_id: int) -> ResponseReturnValue:
    """An attachment of a case the member sees, as a download (never shown inline: a file a
    citizen sent is not a page of ours)."""
    services, member = office.services, office.member()
    with unit_of_work(services.engine) as session:
        case = access.case_for(session, member, number)
        if case is None or member is None:
            abort(404)
        item = session.exec(
            select(StoredAttachment)
            .join(ConversationMessage, col(ConversationMessage.id) == StoredAttachment.message_id)
            .where(ConversationMessage.work_order_id == case.id)
            .where(StoredAttachment.id == attachment_id)
        ).first()
        if item is None or not item.sha256:
            abort(404)
        views.record_view(session, number, actor=member.address, via="web")
        name, kind, sha = item.filename, item.content_type, item.sha256
    try:
        payload = services.store.get(sha)
    except FileNotFoundError:
        abort(404)
    response = send_file(
        io.BytesIO(payload), mimetype=kind or "application/octet-stream", as_attachment=True,
        download_name=name or "allegato",
    )  # fmt: skip
    response.headers["Cache-Control"] = "private, no-store"
    return response
