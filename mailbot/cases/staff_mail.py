"""Mail from the institution's side that is not the office's reply (ingest/classify: a staff
member, or anyone answering mail only the institution received). It is never a citizen's: no
case is opened, nothing reaches the citizen, the charter clock is untouched.

- An operator of the case's office whose mail answers nothing signed for the office (a new
  mail with `[Pratica N]` in the subject, a client that dropped In-Reply-To) is told to
  answer the case's notification, whose signed reference lets an operator speak for it.
- Anyone else (a supervisor, a colleague of another office, a former desk, someone a
  notification was forwarded to) writes an internal note: kept in the case, passed on to the
  office, the writer told it was not relayed and how to have the citizen answered. The
  commands their role allows on this case (roles.COMMAND_PERMISSIONS) are carried out when the
  mail answers a signed message of ours; any other command is listed back, not carried out.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot import roles
from mailbot.cases import operator, staff, wording
from mailbot.cases.approving import answer_to_request
from mailbot.cases.messages import (
    Incoming,
    speakers_for,
    store_attachments,
)
from mailbot.cases.notices import operator_notice, to_office
from mailbot.db import record_event
from mailbot.ingest import ledger
from mailbot.models import Contact, WorkOrder
from mailbot.replies import commands, outbox, quotes, threading
from mailbot.roles import Member
from mailbot.services import Services
from mailbot.types import Kind, LedgerStatus, Outcome

# How a reply can find its case without a reference signed for the office's people.
UNSIGNED = frozenset({"subject", "message_id"})


def new_text(services: Services, session: Session, mail: Incoming, work_order: WorkOrder) -> str:
    """The writer's new text; a forwarded copy of the case's own mail (from the mailbox or
    from the citizen) is history, not news for the citizen."""
    contact = session.get(Contact, work_order.contact_id) if work_order.contact_id else None
    history = services.classify_context.own_addresses | ({contact.email} if contact else set())
    forward = quotes.is_forward(mail.parsed.subject)
    return quotes.new_text(mail.parsed.text, history, forward=forward)


def handle_operator_reply(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder
) -> Outcome:
    """The office's reply (its operator or responsible answering mail signed for it)."""
    text = new_text(services, session, mail, work_order)
    stored = store_attachments(services, mail.parsed.attachments)
    relayable = [a for a in mail.parsed.attachments if not a.inline]
    reason = operator.apply_operator_message(
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
    return ledger.settle(
        mail.entry,
        LedgerStatus.THREADED,
        kind=Kind.OPERATOR_REPLY,
        reason=reason,
        work_order=work_order,
    )


def handle(
    services: Services,
    session: Session,
    mail: Incoming,
    ref: threading.ThreadRef,
    work_order: WorkOrder,
) -> Outcome:
    """Staff mail on a case's thread (never the office's reply: that is operator.py's)."""
    if ref.code == "a":  # an answer to an approval request: approving.py's
        answered = answer_to_request(services, session, mail, ref, work_order, kind=Kind.STAFF_MAIL)
        if answered is not None:
            return answered
    people = staff.directory(services, session)
    member = people.member(mail.sender.email)
    signed = ref.via not in UNSIGNED
    speaker = mail.sender.email in speakers_for(services, people, work_order.office)
    if speaker and ref.via == "subject":
        return refer_to_notification(services, session, mail, work_order.number, work_order)
    # A third party answering a forward (not staff) is not told how the office's mail works.
    outsider = ref.code == threading.KIND_CODES["forward_external"] and member is None
    return write_note(services, session, mail, work_order, member, signed=signed, tell=not outsider)


def write_note(
    services: Services,
    session: Session,
    mail: Incoming,
    work_order: WorkOrder,
    member: Member | None,
    *,
    signed: bool,
    tell: bool = True,
) -> Outcome:
    """The writer's text as an internal note, with the commands their role allows here;
    `tell`: the writer gets a notice of what was not relayed or not carried out."""
    parsed = commands.parse(new_text(services, session, mail, work_order))
    allowed, refused = sift(parsed, member, work_order, signed=signed)
    explicit = parsed.has("nota") is not None
    kept = commands.Parsed((*allowed, commands.Command("nota", "")), parsed.body, parsed.errors)
    stored = store_attachments(services, mail.parsed.attachments)
    operator.apply_operator_message(
        services, session, work_order, operator=mail.sender, text=parsed.body, stored=stored,
        inbound_id=mail.entry.id, message_id=mail.parsed.message_id,
        date=mail.origin.received_at, parsed=kept,
    )  # fmt: skip
    applied = [f"#{c.name} {c.arg}".strip() for c in allowed if c.name != "nota"]
    if parsed.errors or work_order.voided_at is not None:  # already told why, by operator.py
        return _settle(mail, work_order, "staff mail: refused, writer told")
    language = work_order.language
    role_text = ", ".join(
        wording.label("role", r, language)
        for r in sorted(member.roles_on(work_order.office, work_order.desk) if member else ())
    )
    if parsed.body or applied:
        _pass_on(
            services, session, mail, work_order, member=member, applied=applied, role_text=role_text
        )
    if tell and (refused or not explicit):
        office = services.settings.office(work_order.office)
        may_assign = member is not None and member.may_on(
            "case.assign", work_order.office, work_order.desk
        )
        operator_notice(
            services, session, work_order, operator=mail.sender,
            in_reply_to=mail.parsed.message_id, notice="not_relayed",
            details={"office_name": office.name, "applied": applied,
                     "refused": [_why(c, signed, language) for c in refused],
                     "may_assign": may_assign},
        )  # fmt: skip
    return _settle(mail, work_order, "staff mail: internal note, not relayed")


def sift(
    parsed: commands.Parsed,
    member: Member | None,
    work_order: WorkOrder,
    *,
    signed: bool,
) -> tuple[list[commands.Command], list[commands.Command]]:
    """(allowed, refused): a command is carried out only on a signed thread, from a member
    whose role on this case allows it (the role table's COMMAND_PERMISSIONS)."""
    names = [c.name for c in parsed.commands] if signed else []
    barred = set(roles.refused_commands(member, names, work_order.office, work_order.desk))
    allowed = [c for c in parsed.commands if c.name == "nota" or (signed and c.name not in barred)]
    refused = [c for c in parsed.commands if c not in allowed]
    return allowed, refused


def _why(command: commands.Command, signed: bool, language: str) -> str:
    usage = f"#{command.name} {command.arg}".strip()
    if language == "it":
        reason = (
            "non consentito al vostro ruolo su questa pratica"
            if signed
            else ("il messaggio non risponde a un messaggio firmato della pratica")
        )
    else:
        reason = (
            "not allowed to your role on this case"
            if signed
            else ("the message answers no signed message of the case")
        )
    return f"{usage}: {reason}"


def _pass_on(
    services: Services,
    session: Session,
    mail: Incoming,
    work_order: WorkOrder,
    *,
    member: Member | None,
    applied: list[str],
    role_text: str,
) -> None:
    """The note, to the office: read like its other mail about the case, never relayed."""
    office = services.settings.office(work_order.office)
    if mail.sender.email == office.email:
        return  # the office's own address: it has the note already
    values = {
        "subject": work_order.subject,
        "status_text": wording.label("status", work_order.status, work_order.language),
        "author": mail.sender.email,
        "author_name": (member.name if member else "") or mail.sender.name,
        "role_text": role_text,
        "received_at": mail.origin.received_at,
        "due_at": work_order.due_at,
        "applied": applied,
        "body": new_text(services, session, mail, work_order),
    }
    attachments = [a for a in mail.parsed.attachments if not a.inline]
    to_office(services, session, work_order, "internal_note", values, office=office,
              attachments=attachments)  # fmt: skip


def _settle(mail: Incoming, work_order: WorkOrder, reason: str) -> Outcome:
    return ledger.settle(
        mail.entry, LedgerStatus.THREADED, kind=Kind.STAFF_MAIL, reason=reason,
        work_order=work_order,
    )  # fmt: skip


def case_named(
    services: Services,
    session: Session,
    mail: Incoming,
    ref: threading.ThreadRef | None,
    work_order: WorkOrder | None,
) -> str | None:
    """The number of the case a staff member's mail names without a signed reference, else
    None (not staff, a signed reply, no case named, or the case's own contact writing)."""
    sender = mail.parsed.sender
    if sender is None or not staff.is_staff_address(services, session, sender.email):
        return None
    if ref is not None and ref.via not in UNSIGNED:
        return None
    if work_order is not None:
        contact = session.get(Contact, work_order.contact_id)
        if contact is not None and contact.email == sender.email:
            return None  # staff writing about their own case, as its citizen
        return work_order.number
    return threading.number_in_subject(mail.parsed.subject)


def refer_to_notification(
    services: Services,
    session: Session,
    mail: Incoming,
    number: str,
    work_order: WorkOrder | None,
) -> Outcome:
    """Tell the writer to answer the case's notification; the mail is kept and settled."""
    reason = f"staff mail naming {number} without a signed reference: told to reply to it"
    record_event(
        session,
        "inbound.staff_unthreaded",
        work_order_id=work_order.id if work_order else None,
        inbound_id=mail.entry.id,
        actor=mail.sender.email,
        number=number,
    )
    if work_order is not None:
        operator_notice(
            services,
            session,
            work_order,
            operator=mail.sender,
            in_reply_to=mail.parsed.message_id,
            notice="unthreaded",
        )
    else:  # a number no case has: told all the same, with no case to thread it to
        mailbox = services.settings.mailbox(mail.origin.mailbox)
        composed = services.composer.operator_notice(
            number=number,
            language=services.settings.language,
            operator=mail.sender,
            subject=mail.parsed.subject,
            errors=(),
            reply_to=mailbox.address,
            in_reply_to=mail.parsed.message_id,
            notice="unthreaded",
        )
        outbox.enqueue(session, composed, kind="notice", work_order_id=None)
    return ledger.settle(
        mail.entry, LedgerStatus.IGNORED, kind=Kind.OPERATOR_REPLY, reason=reason,
        work_order=work_order,
    )  # fmt: skip
