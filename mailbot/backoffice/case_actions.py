"""The case page's actions, each a POST form (`/pratiche/<n>/<verb>`): the form becomes the
command text an operator's mail would carry (replies/commands.py), exactly as the CLI's
`workorders reply|note|assign|…` build it, and goes to THE function they call,
`cases/operator.operator_action`; the forward to a third party is `cases/forwarding.forward`,
the case file by mail `cases/transcript.send`. One action, many doors.

The role is checked before anything else: a case the member does not see is a 404, an action
its roles do not allow a 403 (`access.require`). A refused input is the page again (400) with
the message tied to its field and the text as typed; success is a 303 back to the page with a
confirmation (Post/Redirect/Get). The mail is queued: the daemon's outbox loop sends it, or
under `mailbot backoffice` alone the delivery pass it was given (context.send_at_once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, abort, redirect, request
from flask.typing import ResponseReturnValue

from mailbot.backoffice.case_page import number_of, render_case
from mailbot.backoffice.context import Office, signed_in
from mailbot.cases import access, charter_commands, forwarding, reply_hold, transcript
from mailbot.cases.operator import operator_action
from mailbot.db import unit_of_work
from mailbot.errors import InputError, MailError
from mailbot.replies import commands
from mailbot.types import Attachment


class FieldError(Exception):
    """A form field the member must correct: its id on the page and the wording's key."""

    def __init__(self, field: str, key: str) -> None:
        super().__init__(key)
        self.field, self.key = field, key


def _text(name: str, field: str, *, required: bool = True) -> str:
    value = request.form.get(name, "").replace("\r\n", "\n").strip()
    if required and not value:
        raise FieldError(field, "required")
    return value


def _line(name: str, field: str, *, required: bool = True) -> str:
    """A one-line value (an office id, a reason): a command's argument has no line breaks."""
    return " ".join(_text(name, field, required=required).split())


def _uploads() -> list[Attachment]:
    return [
        Attachment(f.filename, f.mimetype or "application/octet-stream", f.read())
        for f in request.files.getlist("allegati")
        if f and f.filename
    ]


def _reply() -> str:
    text = _text("testo", "reply-text")
    interim = request.form.get("modo") == "interlocutoria"
    close = request.form.get("chiudi") == "1"
    if interim and close:
        raise FieldError("reply-close", "interim_close")
    anyway = "#invia\n" if request.form.get("invia") == "1" and not interim else ""
    return (
        ("#interlocutoria\n" if interim else "#risposta\n")
        + ("#chiudi\n" if close else "")
        + anyway
        + text
    )


def _note() -> str:
    return f"#nota\n{_text('testo', 'note-text')}"


def _assign() -> str:
    office = _line("ufficio", "assign-office")
    return f"#assegna {office} {_line('motivo', 'assign-reason', required=False)}".strip()


def _suspend() -> str:
    return f"#sospendi {_line('motivo', 'suspend-reason')}"


def _extend() -> str:
    days = request.form.get("giorni", "").strip()
    if not days.isdigit() or not 1 <= int(days) <= 365:
        raise FieldError("extend-days", "days")
    return f"#proroga {int(days)} {_line('motivo', 'extend-reason')}\n#nota"


def _classify() -> str:
    lines = [
        f"#{command} {value}"
        for command, value in (
            ("tipo", _line("tipo", "classify-kind", required=False)),
            ("categoria", _line("categoria", "classify-category", required=False)),
            ("protocollo", _line("protocollo", "classify-protocol", required=False)),
        )
        if value
    ]
    if not lines:
        raise FieldError("classify-kind", "one_needed")
    return "\n".join([*lines, "#nota"])


def _outcome() -> str:
    outcome = _line("esito", "outcome-outcome", required=False)
    solution = _line("soluzione", "outcome-solution", required=False)
    by = request.form.get("entro", "").strip()  # YYYY-MM-DD from a date input
    action = _line("azione", "outcome-action", required=False)
    if by and not solution:
        raise FieldError("outcome-solution", "required")
    if by:
        year, _, rest = by.partition("-")
        month, _, day = rest.partition("-")
        if not (year.isdigit() and month.isdigit() and day.isdigit()):
            raise FieldError("outcome-by", "date")
        solution = f"entro {day}/{month}/{year} {solution}"
    cause = _line("causa", "outcome-cause", required=False)
    minimum = {"si": "#incompleto", "no": "#incompleto no"}.get(request.form.get("incompleto", ""))
    lines = [f"#{c} {v}" for c, v in (("esito", outcome), ("soluzione", solution),
                                       ("azione", action), ("causa", cause)) if v]  # fmt: skip
    lines += [minimum] if minimum else []
    if not lines:
        raise FieldError("outcome-outcome", "one_needed")
    return "\n".join([*lines, "#nota"])


# verb in the URL → (access action, the command text from the form, the main field's id)
COMMANDS: dict[str, tuple[str, Callable[[], str], str]] = {
    "rispondi": ("reply", _reply, "reply-text"),
    "nota": ("note", _note, "note-text"),
    "assegna": ("assign", _assign, "assign-office"),
    "sospendi": ("suspend", _suspend, "suspend-reason"),
    "riprendi": ("resume", lambda: "#riprendi\n#nota", "resume-submit"),
    "proroga": ("extend", _extend, "extend-days"),
    "classifica": ("classify", _classify, "classify-kind"),
    "esito": ("outcome", _outcome, "outcome-outcome"),
    "chiudi": ("close", lambda: "#chiudi", "close-submit"),
    "riapri": ("reopen", lambda: "#riapri", "reopen-submit"),
}
OTHERS = {"inoltra": ("forward", "forward-to"), "fascicolo": ("transcript", "transcript-submit")}


def install(app: Flask, office: Office) -> None:
    @signed_in(office)
    def act(slug: str, verb: str) -> ResponseReturnValue:
        if verb not in COMMANDS and verb not in OTHERS:
            abort(404)
        return _act(office, number_of(slug), slug, verb)

    app.add_url_rule("/pratiche/<slug>/<verb>", "case_action", act, methods=["POST"])


def _act(office: Office, number: str, slug: str, verb: str) -> ResponseReturnValue:
    services, member = office.services, office.member()
    assert member is not None
    action, field = COMMANDS[verb][0::2] if verb in COMMANDS else OTHERS[verb]
    with unit_of_work(services.engine) as session:
        case = access.case_for(session, member, number)
        if case is None:
            abort(404)
        try:
            access.require(member, action, case)
        except access.ForbiddenError:
            abort(403)
    form: dict[str, Any] = {
        "action": action,
        **request.form.to_dict(),
        "chosen": request.form.getlist("allegato"),
    }
    words = office.words()
    try:
        if verb in COMMANDS:
            text = COMMANDS[verb][1]()
            attachments = _uploads() if verb == "rispondi" else []
            _check(office, number, text, attachments)
            operator_action(services, number, member.address, text, attachments)
        elif verb == "inoltra":
            _forward(office, number)
        else:
            transcript.send(services, number, member.address, actor=member.address)
    except FieldError as exc:
        errors = {exc.field: words[f"error_{exc.key}"]}
    except (InputError, MailError) as exc:
        errors = {field: f"{words['error_refused']} {exc}"}
    else:
        office.deliver_soon()
        return redirect(f"/pratiche/{slug}?fatto={action}#esito", code=303)
    return render_case(office, number, status=400, errors=errors, form=form, failed=action)


def _check(office: Office, number: str, text: str, attachments: list[Attachment]) -> None:
    """The checks operator_action makes first (charter_commands.problems, and what a regulated
    reasoned reply lacks: cases/reply_hold.py), asked here only to say what is wrong in the
    member's language; operator_action makes them again."""
    language, parsed = office.language(), commands.parse(text)
    with unit_of_work(office.services.engine) as session:
        case = access.case_for(session, office.member(), number)
        found = charter_commands.problems(office.services, parsed, case)
        lacking = [] if found or case is None else (
            reply_hold.lacks(office.services, session, case, parsed, attachments))  # fmt: skip
    if found:
        raise InputError("; ".join(p.text(language) for p in found))
    if lacking:
        raise InputError(reply_hold.refusal(lacking, language, form=True))


def _forward(office: Office, number: str) -> None:
    member = office.member()
    assert member is not None
    to = _line("indirizzo", "forward-to")
    text = _text("testo", "forward-text")
    chosen = [int(v) for v in request.form.getlist("allegato") if v.isdigit()]
    forwarding.forward(
        office.services, number, member.address, to, text, attachments=_uploads(), chosen=chosen
    )
