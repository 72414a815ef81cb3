"""An operator answers: commands applied, the rest relayed to the citizen from the mailbox's
address (for a citizen with no e-mail address, made into a letter to print: letters.py), or
explained back when it cannot be carried out. The CLI's `workorders reply|note|
assign|close|reopen` go through `apply_operator_message` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from mailbot.cases import charter_commands, conversation_log, letters, refunds, survey, workorders
from mailbot.cases.messages import CITIZEN_SIDE, Incoming, queue, store_attachments, thread_ids
from mailbot.cases.notices import notify_office_of_case, operator_notice, tell_citizen
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError
from mailbot.ingest import ledger
from mailbot.models import Contact, WorkOrder, utcnow
from mailbot.replies import commands, quotes
from mailbot.services import Services
from mailbot.types import Address, Attachment, Kind, LedgerStatus, Outcome


def handle_operator_reply(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder
) -> Outcome:
    text = quotes.new_text(mail.parsed.text)
    stored = store_attachments(services, mail.parsed.attachments)
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
    return ledger.settle(
        mail.entry,
        LedgerStatus.THREADED,
        kind=Kind.OPERATOR_REPLY,
        reason=reason,
        work_order=work_order,
    )


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

    if errors:
        record("operator_reply", text)
        operator_notice(
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
        notify_office_of_case(services, session, work_order, new_office)
    charter_commands.apply(services, session, work_order, parsed, operator.email)
    suspend = parsed.has("sospendi")
    body = parsed.body or (suspend.arg if suspend else "")
    relayed = False
    if not keep_internal and body:
        _relay(services, session, work_order, operator=operator, body=body, attachments=attachments)
        relayed = True
        if parsed.has("risposta") or parsed.has("chiudi"):
            conversation_log.mark_reply_sent(session, work_order, operator.email, settings)
    if suspend:
        workorders.suspend(session, work_order, suspend.arg, operator.email, services.clock)
    if parsed.has("chiudi"):
        workorders.close(session, work_order, operator.email)
        tell_citizen(
            services,
            session,
            work_order,
            "closing",
            {
                "survey": settings.charter.satisfaction_survey,
                "questions": survey.questions(settings, work_order.language),
                "survey_url": survey.link(settings, work_order),
                "reopen_days": settings.conversations.reopen_days,
                "refunds": [
                    {
                        "reason": r.reason,
                        "amount": r.amount_eur,
                        "compensation": r.compensation,
                        "pay_by": r.pay_by,
                    }
                    for r, _ in refunds.refunds(session, refunds.DUE, work_order.id)
                ],
            },
        )
    if parsed.has("riapri"):
        workorders.reopen(session, work_order, operator.email)
    return None if relayed else f"not relayed ({kind})"


def problems(services: Services, parsed: commands.Parsed, language: str = "it") -> list[str]:
    """Why an operator's message cannot be carried out (empty list: it can), in `language`."""
    errors = list(parsed.errors)
    assign_to = parsed.has("assegna")
    if assign_to and assign_to.arg not in services.settings.offices:
        errors.append(commands.Problem("no_office", (assign_to.arg,)))
    errors += charter_commands.problems(services, parsed)
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
        office = services.settings.office(work_order.office)
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
        office=services.settings.office(work_order.office),
        reply_to=mailbox.address,
        in_reply_to=citizen_ids[-1] if citizen_ids else (thread[-1] if thread else None),
        references=thread,
        attachments=attachments,
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
    )
    queue(session, work_order, "relay", composed, route=mailbox)
