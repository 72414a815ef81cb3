"""What each kind of mail does to a case, inside the message's transaction: a citizen's new
mail opens a case (confirmation to the citizen, notification to the office); a follow-up joins
its case and is forwarded to the office; an operator's answer is stripped of quoted history,
its commands applied, and the rest relayed to the citizen from the mailbox's address.

The pipeline decides which of these applies; the CLI's `workorders reply|note|assign|close|
reopen` go through `apply_operator_message` too, so email and command line behave the same.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from mailbot import workorders
from mailbot.config import LimitSettings, MailboxSettings, OfficeSettings
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError, MailError
from mailbot.ingest import bounce, ledger, pec
from mailbot.log import bind_case, get_logger
from mailbot.models import (
    Contact,
    InboundMessage,
    OutboundMessage,
    PecReceipt,
    Taxpayer,
    WorkOrder,
    utcnow,
)
from mailbot.pipeline_services import Services
from mailbot.replies import commands, outbox, quotes
from mailbot.replies.compose import Composed
from mailbot.replies.threading import plus_address, provider_key
from mailbot.types import (
    Address,
    Attachment,
    Kind,
    LedgerStatus,
    Match,
    Origin,
    Outcome,
    ParsedMessage,
)

log = get_logger(__name__)

CITIZEN_SIDE = (
    "citizen",
    "citizen_followup",
    "satisfaction",
    "confirmation",
    "relay",
    "extension",
    "closing",
)
AUTOMATIC = frozenset({"confirmation", "notice"})  # written by mailbot, not by a person
OFFICE_SIDE = ("notification", "forward")


@dataclass(frozen=True)
class Incoming:
    """One inbound message as the flows need it."""

    entry: InboundMessage
    parsed: ParsedMessage
    origin: Origin

    @property
    def oversized(self) -> bool:
        """Only the head was parsed (the source streamed the whole message into the store)."""
        return self.origin.stored_sha256 is not None

    @property
    def sender(self) -> Address:
        if self.parsed.sender is None:
            raise MailError("no usable sender address in From")
        return self.parsed.sender


def open_case(
    services: Services,
    session: Session,
    mail: Incoming,
    match: Match,
    parent_id: int | None = None,
) -> Outcome:
    settings = services.settings
    mailbox = settings.mailbox(mail.origin.mailbox)
    office = settings.office(mailbox.office)
    mail, refused = _screen(services, mail)
    _mark_certified(session, mail, match)
    work_order = workorders.open_work_order(
        session,
        office=office,
        mailbox=mailbox.name,
        subject=mail.parsed.subject,
        match=match,
        received_at=mail.origin.received_at,
        timezone=settings.timezone,
        language=settings.language,
        inbound_id=mail.entry.id,
        parent_id=parent_id,
        clock=services.clock,
        category=workorders.category_for(
            f"{mail.parsed.subject}\n{mail.parsed.text[:5000]}", settings.charter.categories
        ),
    )
    bind_case(work_order.number)
    work_order.sender_alert = match.forged
    _record_inbound(services, session, work_order, mail, "citizen")
    confirmation = services.composer.confirmation(
        number=work_order.number,
        language=work_order.language,
        citizen=mail.sender,
        subject=mail.parsed.subject,
        received_at=mail.origin.received_at,
        due_at=work_order.due_at,
        office=office,
        reply_to=mailbox.address,
        in_reply_to=mail.parsed.message_id,
        references=mail.parsed.references,
        refused=refused,
        oversized=mail.oversized,
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
    )
    _note_refused(session, work_order, mail, refused)
    _queue(
        session,
        work_order,
        "confirmation",
        confirmation,
        limits=settings.limits,
        internal=_internal(services),
        route=mailbox,
    )
    _notify_office(services, session, work_order, office, mail, kind="notification")
    ledger.settle(mail.entry, LedgerStatus.FILED, kind=Kind.CITIZEN, work_order_id=work_order.id)
    return Outcome(LedgerStatus.FILED, mail.entry.id, work_order_number=work_order.number)


def add_followup(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder, match: Match
) -> Outcome:
    """The citizen writes again: into the case (reopening it if closed recently), to the office."""
    actor = mail.sender.email
    rating = satisfaction(quotes.new_text(mail.parsed.text))
    if (
        work_order.status == workorders.CLOSED
        and services.settings.charter.satisfaction_survey
        and rating is not None
    ):
        return _record_satisfaction(services, session, mail, work_order, rating)
    if work_order.status == workorders.CLOSED:
        if not workorders.may_reopen(
            work_order, utcnow(), services.settings.conversations.reopen_days
        ):
            return open_case(services, session, mail, match, parent_id=work_order.id)
        workorders.reopen(session, work_order, actor)
    workorders.resume(session, work_order, actor, services.clock)  # the clock restarts
    mail, refused = _screen(services, mail)
    _note_refused(session, work_order, mail, refused)
    _record_inbound(services, session, work_order, mail, "citizen_followup")
    office = services.settings.office(work_order.office)
    _notify_office(services, session, work_order, office, mail, kind="forward")
    ledger.settle(
        mail.entry, LedgerStatus.THREADED, kind=Kind.CITIZEN_FOLLOWUP, work_order_id=work_order.id
    )
    return Outcome(LedgerStatus.THREADED, mail.entry.id, work_order_number=work_order.number)


_RATING = re.compile(r"^\s*([1-5])(?:\s*/\s*5)?\s*[.!]?\s*(?:\S.{0,40})?$")


def satisfaction(text: str) -> int | None:
    """The answer to the closing question: a lone 1-5 on the first line ("4", "5/5",
    "3 grazie"), in a short reply; anything longer is a real follow-up."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines or len(lines) > 2 or len(text.strip()) > 60:
        return None
    found = _RATING.match(lines[0])
    return int(found.group(1)) if found else None


def _record_satisfaction(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder, rating: int
) -> Outcome:
    """Kept on the closed case and in the conversation; it neither reopens the case nor goes
    to the office as a follow-up."""
    work_order.satisfaction = rating
    session.add(work_order)
    record_event(
        session,
        "work_order.satisfaction",
        work_order_id=work_order.id,
        inbound_id=mail.entry.id,
        actor=mail.sender.email,
        rating=rating,
    )
    _record_inbound(services, session, work_order, mail, "satisfaction")
    reason = f"satisfaction {rating}/5"
    ledger.settle(
        mail.entry,
        LedgerStatus.THREADED,
        kind=Kind.CITIZEN_FOLLOWUP,
        reason=reason,
        work_order_id=work_order.id,
    )
    return Outcome(LedgerStatus.THREADED, mail.entry.id, work_order.number, reason=reason)


def handle_operator_reply(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder
) -> Outcome:
    text = quotes.new_text(mail.parsed.text)
    stored = _store(services, mail.parsed.attachments)
    relayable = [a for a in mail.parsed.attachments if not a.inline]
    reason = apply_operator_message(
        services,
        session,
        work_order,
        operator=mail.sender,
        text=text,
        attachments=relayable,
        stored=stored,
        inbound_id=mail.entry.id,
        message_id=mail.parsed.message_id,
        date=mail.origin.received_at,
    )
    ledger.settle(
        mail.entry,
        LedgerStatus.THREADED,
        kind=Kind.OPERATOR_REPLY,
        reason=reason,
        work_order_id=work_order.id,
    )
    return Outcome(LedgerStatus.THREADED, mail.entry.id, work_order.number, reason=reason)


def apply_operator_message(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    operator: Address,
    text: str,
    attachments: Sequence[Attachment] = (),
    stored: Sequence[workorders.NewAttachment] = (),
    inbound_id: int | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> str | None:
    """Commands first, then the text: to the citizen, or kept as an internal note. Returns why
    nothing was relayed, when nothing was."""
    settings = services.settings
    parsed = commands.parse(text)
    errors = problems(services, parsed, work_order.language)
    assign_to = parsed.has("assegna")

    def record(kind: str, body: str) -> None:
        record_event(
            session,
            f"message.{kind}",
            work_order_id=work_order.id,
            inbound_id=inbound_id,
            actor=operator.email,
            message_id=message_id,
        )
        workorders.add_message(
            session,
            work_order,
            direction="in",
            kind=kind,
            from_address=operator.email,
            author=operator.email,
            to=[],
            date=date or utcnow(),
            subject=work_order.subject,
            body_text=body,
            message_id=message_id,
            inbound_id=inbound_id,
            attachments=stored,
        )

    if errors:
        record("operator_reply", text)
        _operator_notice(
            services, session, work_order, operator=operator, errors=errors, in_reply_to=message_id
        )
        record_event(
            session,
            "operator_reply.refused",
            work_order_id=work_order.id,
            actor=operator.email,
            errors=errors,
        )
        return "; ".join(errors)

    keep_internal = parsed.has("nota") or assign_to
    kind = "note" if keep_internal else "operator_reply"
    record(kind, parsed.body)
    if assign_to:
        new_office = settings.office(assign_to.arg)
        workorders.assign(session, work_order, new_office, operator.email)
        _notify_office_of_case(services, session, work_order, new_office)
    _charter_commands(services, session, work_order, parsed, operator.email)
    suspend = parsed.has("sospendi")
    body = parsed.body or (suspend.arg if suspend else "")
    relayed = False
    if not keep_internal and body:
        _relay(services, session, work_order, operator=operator, body=body, attachments=attachments)
        relayed = True
    if suspend:
        workorders.suspend(session, work_order, suspend.arg, operator.email, services.clock)
    if parsed.has("chiudi"):
        workorders.close(session, work_order, operator.email)
        _tell_citizen(
            services,
            session,
            work_order,
            "closing",
            {
                "survey": settings.charter.satisfaction_survey,
                "reopen_days": settings.conversations.reopen_days,
            },
        )
    if parsed.has("riapri"):
        workorders.reopen(session, work_order, operator.email)
    return None if relayed else f"not relayed ({kind})"


def _charter_commands(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    parsed: commands.Parsed,
    actor: str,
) -> None:
    """#categoria, #protocollo and #proroga (whose notice tells the citizen why and until
    when)."""
    office = services.settings.office(work_order.office)
    category = parsed.has("categoria")
    if category:
        workorders.set_category(
            session,
            work_order,
            category=category.arg.lower(),
            office=office,
            actor=actor,
            clock=services.clock,
        )
    protocollo = parsed.has("protocollo")
    if protocollo:
        workorders.set_protocollo(session, work_order, protocollo.arg, actor)
    extension = parsed.has("proroga")
    found = commands.extension(extension.arg) if extension else None
    if found:
        days, reason = found
        workorders.extend(
            session, work_order, days=days, reason=reason, actor=actor, clock=services.clock
        )
        _tell_citizen(
            services,
            session,
            work_order,
            "extension",
            {"days": days, "reason": reason, "due_at": work_order.due_at},
        )


def _tell_citizen(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    kind: str,
    values: dict[str, Any],
) -> None:
    """A message of mailbot's to the citizen, threaded, through the case's mailbox route."""
    contact = session.get(Contact, work_order.contact_id)
    assert contact is not None
    mailbox = services.settings.mailbox(work_order.mailbox)
    thread = _thread_ids(session, work_order, CITIZEN_SIDE)
    composed = services.composer.to_citizen(
        kind,
        number=work_order.number,
        language=work_order.language,
        citizen=Address(contact.name, contact.email),
        subject=work_order.subject,
        office=services.settings.office(work_order.office),
        values=values,
        reply_to=mailbox.address,
        in_reply_to=thread[-1] if thread else None,
        references=thread[:-1],
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
    )
    _queue(session, work_order, kind, composed, route=mailbox)


def problems(services: Services, parsed: commands.Parsed, language: str = "it") -> list[str]:
    """Why an operator's message cannot be carried out (empty list: it can), in `language`."""
    errors = list(parsed.errors)
    assign_to = parsed.has("assegna")
    if assign_to and assign_to.arg not in services.settings.offices:
        errors.append(commands.Problem("no_office", (assign_to.arg,)))
    category = parsed.has("categoria")
    if category and services.settings.charter.category(category.arg.lower()) is None:
        known = ", ".join(c.id for c in services.settings.charter.categories)
        errors.append(commands.Problem("no_category", (category.arg, known)))
    extension = parsed.has("proroga")
    if extension and commands.extension(extension.arg) is None:
        errors.append(commands.Problem("extension"))
    if not errors and not parsed.body and not parsed.commands:
        errors.append(commands.Problem("empty"))
    return [problem.text(language) for problem in errors]


def operator_action(
    services: Services,
    number: str,
    operator: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> str:
    """The command line's way to do what an operator's email does; refuses instead of
    answering with a notice. Returns what happened, for the admin."""
    parsed = commands.parse(text)
    errors = problems(services, parsed, "en")
    if errors:
        raise InputError("; ".join(errors))
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        office = services.settings.office(work_order.office)
        address = operator.strip().lower()
        if address not in {*office.operators, office.email}:
            raise InputError(
                f"{address} is not an operator of office {office.id} (see [[offices]] operators)"
            )
        stored = _store(services, attachments)
        reason = apply_operator_message(
            services,
            session,
            work_order,
            operator=Address("", address),
            text=text,
            attachments=attachments,
            stored=stored,
        )
        status = work_order.status
    return f"{number}: {reason or 'reply queued for the citizen'}; status {status}"


# --- helpers -----------------------------------------------------------------------------


def _mark_certified(session: Session, mail: Incoming, match: Match) -> None:
    if mail.parsed.pec_verified:
        contact = session.get(Contact, match.contact_id)
        if contact is not None and not contact.pec_verified:
            contact.pec_verified = True
            record_event(
                session, "contact.pec_verified", inbound_id=mail.entry.id, contact=contact.email
            )


def _note_refused(
    session: Session, work_order: WorkOrder, mail: Incoming, refused: list[tuple[str, str]]
) -> None:
    if refused:
        record_event(
            session,
            "attachment.refused",
            work_order_id=work_order.id,
            inbound_id=mail.entry.id,
            refused=[f"{name} ({why})" for name, why in refused],
        )


def _screen(services: Services, mail: Incoming) -> tuple[Incoming, list[tuple[str, str]]]:
    """The citizen's attachments the policy accepts; the others with why ("type", "size").
    Refused ones stay in the stored original (evidence) but go nowhere else."""
    limits = services.settings.limits
    accepted: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    if mail.oversized:  # what was parsed is a truncated head: no attachment is whole
        return Incoming(
            mail.entry, dataclasses.replace(mail.parsed, attachments=()), mail.origin
        ), []
    for attachment in mail.parsed.attachments:
        if blocked_name(attachment.filename, limits.blocked_extensions):
            refused.append((attachment.filename, "type"))
        elif len(attachment.payload) > limits.max_attachment_bytes:
            refused.append((attachment.filename, "size"))
        else:
            accepted.append(attachment)
    if not refused:
        return mail, []
    parsed = dataclasses.replace(mail.parsed, attachments=tuple(accepted))
    return Incoming(mail.entry, parsed, mail.origin), refused


# Cyrillic and Greek letters that look like Latin ones: a name ending in Cyrillic "exe" is
# not ".exe" to a naive policy, but is to a reader and, once renamed, to Windows.
_LOOK_ALIKES = str.maketrans(
    "\u0430\u0432\u0441\u0435\u0456\u0458\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0410\u0412\u0421\u0415\u0406\u0408\u041a\u041c\u041d"
    "\u041e\u0420\u0421\u0422\u0425\u0423\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u03bf\u03b5\u03b9\u03b1\u03bd",
    "abceijkmhopctyxABCEIJKMHOPCTXYABEZHIKMNOPTYXoeiav",
)


def blocked_name(filename: str, blocked: Sequence[str]) -> bool:
    """Whether the policy refuses this name as Windows and macOS would read it: NFKC-folded,
    invisible characters gone, trailing dots and blanks dropped, look-alike letters read as
    Latin, and every part of an alternate data stream name ("a.pdf:x.exe") checked."""
    name = "".join(
        ch for ch in unicodedata.normalize("NFKC", filename) if ch.isprintable()
    ).translate(_LOOK_ALIKES)
    for piece in name.split(":"):
        clean = piece.strip().rstrip(". ").lower()
        if "." in clean and "." + clean.rsplit(".", 1)[-1].strip() in blocked:
            return True
    return False


def _store(services: Services, attachments: Sequence[Attachment]) -> list[workorders.NewAttachment]:
    return [
        workorders.NewAttachment(
            a.filename, a.content_type, len(a.payload), services.store.put(a.payload)
        )
        for a in attachments
    ]


def _record_inbound(
    services: Services, session: Session, work_order: WorkOrder, mail: Incoming, kind: str
) -> None:
    record_event(
        session,
        f"message.{kind}",
        work_order_id=work_order.id,
        inbound_id=mail.entry.id,
        actor=mail.sender.email,
        message_id=mail.parsed.message_id,
    )
    workorders.add_message(
        session,
        work_order,
        direction="in",
        kind=kind,
        from_address=mail.sender.email,
        author=mail.sender.email,
        to=[a.email for a in mail.parsed.to],
        date=mail.origin.received_at,
        subject=mail.parsed.subject,
        body_text=mail.parsed.text,
        body_html=mail.parsed.html,
        message_id=mail.parsed.message_id,
        inbound_id=mail.entry.id,
        attachments=_store(services, mail.parsed.attachments),
    )


def _queue(
    session: Session,
    work_order: WorkOrder,
    kind: str,
    composed: Composed,
    *,
    limits: LimitSettings | None = None,
    internal: frozenset[str] = frozenset(),
    route: MailboxSettings | None = None,
) -> None:
    """Write to the outbox and the conversation; automatic mail to outside recipients over the
    rate limit is recorded as suppressed instead of sent. `route`: the case's mailbox, for mail
    to the citizen: it leaves through the mailbox's own account when it has one (a PEC box's)."""
    # A sender that very likely is not who the From says gets nothing mailbot writes on its
    # own; what an operator writes goes out (the office has judged).
    reason = work_order.sender_alert if route is not None and kind != "relay" else ""
    if not reason and limits is not None and kind in AUTOMATIC:
        reason = _over_limit(session, work_order, composed, limits, internal) or ""
    if reason:
        record_event(
            session,
            "message.suppressed",
            work_order_id=work_order.id,
            message_kind=kind,
            to=list(composed.recipients),
            reason=reason,
        )
        return
    record_event(
        session,
        f"message.{kind}",
        work_order_id=work_order.id,
        to=list(composed.recipients),
        message_id=composed.message_id,
    )
    queued = outbox.enqueue(
        session,
        kind=kind,
        message_id=composed.message_id,
        envelope_from=composed.sender,
        recipients=composed.recipients,
        raw=composed.raw,
        work_order_id=work_order.id,
        account=route.name if route is not None and route.smtp is not None else "",
        pec=route is not None and route.smtp is not None and route.pec,
    )
    workorders.add_message(
        session,
        work_order,
        direction="out",
        kind=kind,
        from_address=composed.sender,
        to=list(composed.recipients),
        date=queued.created_at,
        subject=composed.subject,
        body_text=composed.text,
        message_id=composed.message_id,
        outbound_id=queued.id,
    )


def _office_reply_to(services: Services, work_order: WorkOrder) -> str:
    mailbox: MailboxSettings = services.settings.mailbox(work_order.mailbox)
    return (
        plus_address(mailbox.address, work_order.reply_token)
        if mailbox.plus_address
        else mailbox.address
    )


def _thread_ids(session: Session, work_order: WorkOrder, kinds: Sequence[str]) -> tuple[str, ...]:
    assert work_order.id is not None
    return tuple(
        m.message_id
        for m in workorders.conversation(session, work_order.id)
        if m.kind in kinds and m.message_id
    )


def _contact_values(session: Session, work_order: WorkOrder) -> dict[str, object]:
    contact = session.get(Contact, work_order.contact_id)
    assert contact is not None
    taxpayer = session.get(Taxpayer, work_order.taxpayer_id) if work_order.taxpayer_id else None
    return {
        "contact_name": contact.name or contact.email,
        "contact_email": contact.email,
        "codice_fiscale": taxpayer.codice_fiscale if taxpayer else None,
        "registry_name": taxpayer.name if taxpayer else None,
        "match_rule": work_order.match_rule,
        "match_state": work_order.match_state,
        "candidates": [c for c in work_order.match_candidates.split(",") if c],
        "subject": work_order.subject,
        "due_at": work_order.due_at,
        "status_text": work_order.status,
        "sender_alert": work_order.sender_alert,
    }


def _notify_office(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    office: OfficeSettings,
    mail: Incoming,
    *,
    kind: str,
) -> None:
    values = {
        **_contact_values(session, work_order),
        "subject": mail.parsed.subject or work_order.subject,
        "received_at": mail.origin.received_at,
        "body": mail.parsed.text,
        "body_html": mail.parsed.html,
        "other_from": list(mail.parsed.other_from),
        "name_address": mail.parsed.name_address,
    }
    composed = services.composer.to_office(
        kind,
        number=work_order.number,
        language=work_order.language,
        office=office,
        values=values,
        reply_to=_office_reply_to(services, work_order),
        attachments=mail.parsed.attachments,
        references=_thread_ids(session, work_order, OFFICE_SIDE),
    )
    _queue(session, work_order, kind, composed)


def _notify_office_of_case(
    services: Services, session: Session, work_order: WorkOrder, office: OfficeSettings
) -> None:
    """A newly assigned office gets the case as it stands: the citizen's first message."""
    assert work_order.id is not None
    first = next(m for m in workorders.conversation(session, work_order.id) if m.direction == "in")
    values = {
        **_contact_values(session, work_order),
        "received_at": work_order.received_at,
        "body": first.body_text,
        "body_html": first.body_html,
        "other_from": [],
        "name_address": "",
    }
    composed = services.composer.to_office(
        "notification",
        number=work_order.number,
        language=work_order.language,
        office=office,
        values=values,
        reply_to=_office_reply_to(services, work_order),
        references=_thread_ids(session, work_order, OFFICE_SIDE),
    )
    _queue(session, work_order, "notification", composed)


def _relay(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    operator: Address,
    body: str,
    attachments: Sequence[Attachment],
) -> None:
    contact = session.get(Contact, work_order.contact_id)
    assert contact is not None
    thread = _thread_ids(session, work_order, CITIZEN_SIDE)
    assert work_order.id is not None
    citizen_ids = [
        m.message_id
        for m in workorders.conversation(session, work_order.id)
        if m.kind in ("citizen", "citizen_followup") and m.message_id
    ]
    # Whatever the stripping missed, the operator's own address never reaches the citizen.
    body = "\n".join(
        line for line in body.splitlines() if operator.email not in line.lower()
    ).strip()
    mailbox = services.settings.mailbox(work_order.mailbox)
    composed = services.composer.relay(
        number=work_order.number,
        language=work_order.language,
        citizen=Address(contact.name, contact.email),
        subject=work_order.subject,
        body=body,
        operator_name=operator.name,
        office=services.settings.office(work_order.office),
        reply_to=mailbox.address,
        in_reply_to=citizen_ids[-1] if citizen_ids else (thread[-1] if thread else None),
        references=thread,
        attachments=attachments,
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
    )
    _queue(session, work_order, "relay", composed, route=mailbox)
    office = services.settings.office(work_order.office)
    workorders.mark_reply_sent(session, work_order, operator.email, office)


def _operator_notice(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    operator: Address,
    errors: Sequence[str],
    in_reply_to: str | None,
) -> None:
    composed = services.composer.operator_notice(
        number=work_order.number,
        language=work_order.language,
        operator=operator,
        subject=work_order.subject,
        errors=errors,
        reply_to=_office_reply_to(services, work_order),
        in_reply_to=in_reply_to,
    )
    _queue(session, work_order, "notice", composed)


def record_bounce(services: Services, session: Session, mail: Incoming, raw: bytes) -> Outcome:
    """A delivery report: marked on the message it reports on, the office told of a hard
    failure; never a case, never an answer."""
    report = bounce.read(raw, mail.parsed.message_id)
    sent = outbox.by_message_id(session, report.original_message_id)
    failed = [r for r in report.recipients if sent is None or r.address in sent.recipients]
    work_order = session.get(WorkOrder, sent.work_order_id) if sent and sent.work_order_id else None
    hard = any(r.permanent for r in failed)
    if sent is not None and failed:
        # A delay is recorded, not a failure: the mail system is still trying.
        sent.bounce = "delayed" if report.verdict == "delayed" else "hard" if hard else "soft"
        sent.bounce_detail = "; ".join(
            f"{r.address} {r.status} {r.diagnostic}".strip() for r in failed
        )[:4000]
    record_event(
        session,
        f"outbound.{report.verdict}",
        work_order_id=work_order.id if work_order else None,
        inbound_id=mail.entry.id,
        original=report.original_message_id,
        recipients=[f"{r.address} {r.status}".strip() for r in failed],
    )
    if sent is not None and hard:
        sent.failure_reported = True  # reported here, not again by report_failures
        _tell_office_of_failure(services, session, sent, failed)
    reason = f"{report.verdict}: " + (
        ", ".join(f"{r.address} {r.status}".strip() for r in failed) or "no recipient found"
    )
    if sent is None:
        reason += " (not about a message of ours)"
    ledger.settle(
        mail.entry,
        LedgerStatus.BOUNCE,
        kind=Kind.BOUNCE,
        reason=reason[:2000],
        work_order_id=work_order.id if work_order else None,
    )
    return Outcome(
        LedgerStatus.BOUNCE, mail.entry.id, work_order.number if work_order else None, reason=reason
    )


def _internal(services: Services) -> frozenset[str]:
    offices = services.settings.offices.values()
    return frozenset(
        {o.email for o in offices}
        | {op for o in offices for op in o.operators}
        | {m.address for m in services.settings.mailboxes}
    )


def _over_limit(
    session: Session,
    work_order: WorkOrder,
    composed: Composed,
    limits: LimitSettings,
    internal: frozenset[str],
) -> str | None:
    since = utcnow() - timedelta(minutes=limits.window_minutes)
    for recipient in composed.recipients:
        domain = "@" + recipient.rsplit("@", 1)[-1]
        if recipient in internal or recipient in limits.allow or domain in limits.allow:
            continue
        if (
            outbox.count_since(session, since, recipient=recipient, kinds=AUTOMATIC)
            >= limits.per_recipient
        ):
            window = limits.window_minutes
            return f"{limits.per_recipient} automatic messages to {recipient} in {window} min"
        if (
            outbox.count_since(session, since, work_order_id=work_order.id, kinds=AUTOMATIC)
            >= limits.per_case
        ):
            return (
                f"{limits.per_case} automatic messages on this case in {limits.window_minutes} min"
            )
    return None


OFFICE_BOUND = frozenset({"notification", "forward", "notice", "transcript"})


@dataclass(frozen=True)
class _Failure:
    address: str
    status: str
    diagnostic: str


def _tell_office_of_failure(
    services: Services, session: Session, sent: OutboundMessage, failures: Sequence[Any]
) -> bool:
    """One notice to the case's office about a message that did not reach its recipient.
    Never about mail that went to an office itself: a notice about a bounced notice to a
    bouncing office address would loop (offices are not rate-limited)."""
    work_order = session.get(WorkOrder, sent.work_order_id) if sent.work_order_id else None
    if work_order is None or sent.kind in OFFICE_BOUND:
        return False  # nobody else to tell: it is in the log and the event trail
    notice = services.composer.bounce_notice(
        number=work_order.number,
        language=work_order.language,
        office=services.settings.office(work_order.office),
        subject=work_order.subject,
        kind=sent.kind,
        sent_at=sent.sent_at or sent.created_at,
        recipients=failures,
        reply_to=_office_reply_to(services, work_order),
    )
    _queue(session, work_order, "notice", notice)
    return True


def report_failures(services: Services) -> int:
    """Tell the office about messages to citizens that finally failed (5xx, or not delivered
    within `deliver_until`); each is reported once. Returns how many were reported."""
    reported = 0
    with unit_of_work(services.engine) as session:
        for sent in outbox.unreported_failures(session):
            sent.failure_reported = True
            failures = [_Failure(r, "", sent.last_error or "") for r in sent.recipients.split(", ")]
            if _tell_office_of_failure(services, session, sent, failures):
                reported += 1
    return reported


PEC_FAILURES = frozenset({"non-accettazione", "errore-consegna", "rilevazione-virus"})


def record_pec_receipt(
    services: Services, session: Session, entry: InboundMessage, certified: pec.Pec, raw: bytes
) -> Outcome:
    """A PEC receipt or notice: kept as evidence and, when it is about one of our messages,
    linked to it (by our Message-ID, else by the provider's identificativo) and its PEC state
    moved on; the office is told of a failure once. Never a case, never an answer. A receipt
    whose signature does not verify is recorded but changes nothing: it proves nothing."""
    daticert = certified.daticert
    check = pec.verify(raw, services.settings.pec.ca_bundle, daticert.data if daticert else None)
    sent = outbox.by_message_id(session, certified.reference)
    if sent is None and daticert is not None:
        sent = outbox.by_provider_id(session, provider_key(daticert.identificativo))
    kind = certified.kind
    error = _pec_error(daticert)
    recipient = daticert.consegna.strip().lower() if daticert else ""
    # Providers' quirk (FORMAT.md pitfall 12): a warning with 5.4.1 is already the final word.
    final = (
        "errore-consegna"
        if kind == "preavviso-errore-consegna" and error.startswith("5.4.1")
        else kind
    )
    work_order_id = sent.work_order_id if sent else None
    record_event(
        session,
        f"pec.{kind}",
        work_order_id=work_order_id,
        inbound_id=entry.id,
        reference=certified.reference,
        recipient=recipient,
        error=error,
        identificativo=daticert.identificativo if daticert else "",
        signature=check.result,
        signature_detail=check.reason,
    )
    state = None
    if sent is not None:
        assert sent.id is not None and entry.id is not None
        session.add(
            PecReceipt(
                outbound_id=sent.id,
                inbound_id=entry.id,
                type=kind,
                date=daticert.data if daticert else None,
                recipient=recipient,
                error=error,
                signature=check.result,
            )
        )
        session.flush()
        if check.result != "invalid":
            state = _advance_pec_state(
                services, session, sent, final, daticert=daticert, recipient=recipient, error=error
            )
    about = f"about {certified.reference or 'an unknown message'}"
    reason = f"PEC {kind} {about}" + (f": {state}" if state else "")
    if sent is None:
        reason += " (not a message of ours)"
    elif check.result == "invalid":
        reason += f" (signature invalid: {check.reason}; not applied)"
    ledger.settle(
        entry,
        LedgerStatus.RECEIPT,
        kind=Kind.PEC_RECEIPT,
        reason=reason[:2000],
        work_order_id=work_order_id,
    )
    return Outcome(LedgerStatus.RECEIPT, entry.id, reason=reason)


def _pec_error(daticert: pec.Daticert | None) -> str:
    if daticert is None:
        return ""
    if daticert.errore_esteso:
        return daticert.errore_esteso
    return "" if daticert.errore in ("", "nessuno") else daticert.errore


def _advance_pec_state(
    services: Services,
    session: Session,
    sent: OutboundMessage,
    kind: str,
    *,
    daticert: pec.Daticert | None,
    recipient: str,
    error: str,
) -> str:
    """The message's PEC state after this receipt; a failure reported to the office once."""
    before = sent.pec_state
    if kind == "accettazione":
        if daticert is not None and daticert.identificativo:
            sent.pec_provider_id = provider_key(daticert.identificativo)
        if before in (None, outbox.PEC_QUEUED, outbox.PEC_SENT):
            sent.pec_state = outbox.PEC_ACCEPTED
    elif kind == "non-accettazione":
        sent.pec_state = outbox.PEC_NOT_ACCEPTED
    elif kind in PEC_FAILURES:
        sent.pec_state = outbox.PEC_FAILED
    elif kind == "avvenuta-consegna" and before not in outbox.PEC_FINAL_FAILURES:
        assert sent.id is not None
        delivered = {
            r.recipient
            for r in session.exec(
                select(PecReceipt).where(
                    PecReceipt.outbound_id == sent.id, PecReceipt.type == "avvenuta-consegna"
                )
            )
        }
        wanted = {r.strip().lower() for r in sent.recipients.split(",") if r.strip()}
        sent.pec_state = outbox.PEC_DELIVERED if wanted <= delivered else outbox.PEC_ACCEPTED
    # presa-in-carico, and a preavviso without 5.4.1: recorded, nothing decided yet
    session.add(sent)
    failed_now = (
        sent.pec_state in outbox.PEC_FINAL_FAILURES and before not in outbox.PEC_FINAL_FAILURES
    )
    if failed_now and not sent.failure_reported:
        sent.failure_reported = True
        who = [recipient] if recipient else [r for r in sent.recipients.split(", ") if r]
        failures = [_Failure(address, f"PEC {kind}", error) for address in who]
        _tell_office_of_failure(services, session, sent, failures)
        log.warning(
            "pec message not delivered",
            outbound_id=sent.id,
            receipt=kind,
            error=error,
            security=kind == "rilevazione-virus" or "virus" in error,
        )
    return sent.pec_state or ""


def certified_sender(
    services: Services,
    session: Session,
    entry: InboundMessage,
    certified: pec.Pec,
    *,
    parsed: ParsedMessage,
    raw: bytes,
) -> ParsedMessage:
    """The real sender of a certified envelope is daticert's mittente (certified by the
    sender's provider), never the provider's posta-certificata@ address; an anomaly's inner
    From is declared, not certified. Only a valid provider signature, with the certified sender
    equal to the inner From, makes the message (and its contact) PEC-verified; an invalid one
    is still processed, as ordinary unverified mail."""
    real = certified.sender if certified.kind == pec.ENVELOPE else None
    inner = parsed.sender.email if parsed.sender else None
    daticert = certified.daticert
    check = pec.verify(raw, services.settings.pec.ca_bundle, daticert.data if daticert else None)
    verified = check.result == "valid" and real is not None and real == inner
    record_event(
        session,
        f"pec.{certified.kind}",
        inbound_id=entry.id,
        mittente=real or "",
        inner_from=inner or "",
        matches=real == inner,
        identificativo=daticert.identificativo if daticert else "",
        signature=check.result,
        signature_detail=check.reason,
        verified=verified,
    )
    if real and real != inner:
        name = parsed.sender.name if parsed.sender else ""
        return dataclasses.replace(parsed, sender=Address(name, real))
    return dataclasses.replace(parsed, pec_verified=verified)
