"""An operator answers: commands applied, the rest relayed to the citizen from the mailbox's
address (no e-mail address: a letter to print, letters.py), or explained back when it cannot be
carried out. The CLI's `workorders reply|note|assign|close|reopen` go through here too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from mailbot.cases import (
    approval,
    charter_commands,
    conversation_log,
    desk,
    handover,
    letters,
    reply_hold,
    staff,
    workorders,
)  # fmt: skip
from mailbot.cases.messages import CITIZEN_SIDE, queue, speakers_for, store_attachments, thread_ids
from mailbot.cases.notices import already_told, closing_letter, operator_notice
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError
from mailbot.models import Contact, WorkOrder, utcnow
from mailbot.replies import commands
from mailbot.roles import refused_commands
from mailbot.services import Services
from mailbot.types import Address, Attachment


def apply_operator_message(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    operator: Address,
    text: str,
    attachments: Sequence[Attachment] = (),
    stored: Sequence[conversation_log.NewAttachment] = (),
    inbound_id: int | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
    parsed: commands.Parsed | None = None,
    approved_by: str = "",  # who approved it (the desk, the responsible): not held again
    checked: bool = False,  # sent anyway (#invia): not held for what it lacks
) -> str | None:
    """Commands first, then the text: to the citizen, or kept as an internal note. Returns why
    nothing was relayed, when nothing was. An operator's mail (`inbound_id`) is answered with a
    notice when it cannot be carried out or did something the operator may not expect; the
    command line (`operator_action`) checks the same first and refuses instead. `parsed`: the
    commands already read and sifted (staff_mail: those the writer's role allows)."""
    settings = services.settings
    parsed = parsed or commands.parse(text)
    # Issue 33: a regulated reasoned reply lacking what it must hold waits (cases/reply_hold.py).
    if gated := None if checked or approved_by else reply_hold.gate(
        services, session, work_order, parsed, operator=operator, text=text,
        attachments=attachments, inbound_id=inbound_id, message_id=message_id, date=date,
    ):  # fmt: skip
        return gated if isinstance(gated, str) else _send_held(services, session, gated, date)
    by_mail = inbound_id is not None
    found = charter_commands.problems(services, parsed, work_order)
    errors, assign_to = [p.text(work_order.language) for p in found], parsed.has("assegna")

    def record(kind: str, body: str) -> None:
        if not body and not by_mail:
            return  # a command from the command line is its event, not a message
        record_event(
            session,
            f"message.{kind}",
            work_order_id=work_order.id,
            inbound_id=inbound_id,
            actor=operator.email,
            message_id=message_id,
        )
        conversation_log.add_message(
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

    if work_order.voided_at is not None:
        record("operator_reply", text)
        details = {"void_reason": work_order.void_reason}
        operator_notice(
            services, session, work_order, operator=operator, in_reply_to=message_id,
            notice="voided", details=details,
        )  # fmt: skip
        return "case voided: nothing carried out"
    if errors:
        record("operator_reply", text)
        operator_notice(
            services, session, work_order, operator=operator, errors=errors, in_reply_to=message_id
        )
        record_event(
            session, "operator_reply.refused", work_order_id=work_order.id, actor=operator.email,
            errors=errors,
        )  # fmt: skip
        return "; ".join(errors)

    suspend = parsed.has("sospendi")
    interim = parsed.has("interlocutoria") is not None
    take_back = interim and not parsed.body and suspend is None
    keep_internal = parsed.has("nota") or assign_to or take_back
    kind = "note" if keep_internal else "operator_reply"
    body = parsed.body or (suspend.arg if suspend else "")
    approver = None if approved_by or keep_internal or not body else (  # issue 29: approval
        approval.approver_of(services, session, work_order, operator.email))  # fmt: skip
    if approver is not None:
        return approval.hold(
            services, session, work_order, approver, author=operator, text=text,
            attachments=attachments, inbound_id=inbound_id, message_id=message_id, date=date,
        )  # fmt: skip
    record(kind, parsed.body)
    if assign_to:  # with the attachments and a covering note (handover.py)
        office_id, reason = commands.assignment(assign_to.arg)
        handover.hand_over(
            services, session, work_order, office_id, operator.email, reason=reason,
            note=parsed.body,
        )  # fmt: skip
    charter_commands.apply(services, session, work_order, parsed, operator.email)
    if take_back:
        conversation_log.withdraw_reasoned_reply(session, work_order, operator.email)
    relayed = False
    if not keep_internal and body:
        _relay(services, session, work_order, operator=operator, body=body, attachments=attachments)
        relayed = True
        explicit = parsed.has("risposta") or parsed.has("chiudi")
        if suspend is None and not interim:  # a question or an interim message does not count
            by_default = not explicit and work_order.reasoned_reply_at is None
            conversation_log.mark_reply_sent(session, work_order, operator.email, settings)
            if by_default and by_mail and not already_told(session, work_order, "reasoned"):
                operator_notice(
                    services,
                    session,
                    work_order,
                    operator=operator,
                    in_reply_to=message_id,
                    notice="reasoned",
                )
    if suspend:
        workorders.suspend(session, work_order, suspend.arg, operator.email, services.clock)
    if parsed.has("chiudi"):
        _close(services, session, work_order, operator, relayed=relayed, message_id=message_id)
    if parsed.has("riapri"):
        workorders.reopen(session, work_order, operator.email)
    return None if relayed else f"not relayed ({kind})"


def _send_held(
    services: Services, session: Session, held: reply_hold.Held, date: datetime | None
) -> str | None:
    """The held reply, as its author wrote it (commands and all), sent unchecked."""
    return apply_operator_message(
        services, session, held.work_order, operator=held.author, text=held.message.body_text,
        attachments=held.attachments, stored=store_attachments(services, held.attachments),
        inbound_id=held.inbound_id, message_id=held.message.message_id, date=date, checked=True,
    )  # fmt: skip


def _close(
    services: Services, session: Session, work_order: WorkOrder, operator: Address, *,
    relayed: bool, message_id: str | None,
) -> None:  # fmt: skip
    """Closed once, with one closing letter: a second #chiudi tells the operator instead."""
    if work_order.status == workorders.CLOSED:
        details = {"closed_at": work_order.closed_at, "relayed": relayed}
        workorders.case_event(session, work_order, "close_repeated", operator.email)
        operator_notice(
            services, session, work_order, operator=operator, in_reply_to=message_id,
            notice="already_closed", details=details,
        )  # fmt: skip
        return
    workorders.close(session, work_order, operator.email)
    closing_letter(services, session, work_order)


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
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        errors = [p.text("en") for p in charter_commands.problems(services, parsed, work_order)]
        if errors:
            raise InputError("; ".join(errors))
        address = operator.strip().lower()
        people = staff.directory(services, session)
        if address not in speakers_for(services, people, work_order.office):
            # Not the office's voice: a note, and what the member's role allows on the case.
            member, names = people.member(address), [c.name for c in parsed.commands]
            barred = refused_commands(member, names, work_order.office, work_order.desk)
            if member is None or barred or (parsed.body and not parsed.has("nota")):
                raise InputError(
                    f"{address} is not an operator of office {work_order.office} (nor its "
                    "responsible: [[offices]], [[staff]], mailbot staff): it may write #nota"
                    + (f", not #{', #'.join(barred)}" if barred else "")
                )
        if work_order.voided_at is not None:
            raise InputError(f"{number} is void ({work_order.void_reason}): nothing done")
        if parsed.has("chiudi") and work_order.status == workorders.CLOSED:
            raise InputError(f"{number} is already closed: nothing done, nothing sent")
        answered = work_order.reasoned_reply_at is not None
        stored = store_attachments(services, attachments)
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
        contact = session.get(Contact, work_order.contact_id)
        done = "reply queued for the citizen"
        if reason is None and contact is not None and letters.needs_letter(contact):
            done = letters.notice(session, work_order, services.settings.language)
        if not answered and work_order.reasoned_reply_at is not None and not reason:
            done += ", recorded as the reasoned reply"
    return f"{number}: {reason or done}; status {status}"


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
    if letters.needs_letter(contact):  # no e-mail address: the reply goes on paper
        office = desk.signing_office(services.settings, work_order)  # issue 29: a desk signs
        signature = services.settings.conversations.sender_format.format(
            operator=operator.name, office=office.name
        )
        letters.write(
            services,
            session,
            work_order,
            author=operator.email,
            signature=signature if operator.name else office.name,
            body=body,
        )
        return
    thread = thread_ids(session, work_order, CITIZEN_SIDE)
    assert work_order.id is not None
    citizen_ids = [
        m.message_id
        for m in conversation_log.conversation(session, work_order.id)
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
        office=desk.signing_office(services.settings, work_order),  # issue 29: a desk signs
        reply_to=mailbox.address,
        in_reply_to=citizen_ids[-1] if citizen_ids else (thread[-1] if thread else None),
        references=thread,
        attachments=attachments,
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
        staff=staff.directory(services, session),  # the copies, and who signs for the office
    )
    queue(session, work_order, "relay", composed, route=mailbox)
