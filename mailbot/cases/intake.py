"""A citizen writes: a new case (confirmation to the citizen, notification to the office), or
a follow-up that joins its case (and reopens it, or opens a linked one), or the answer to the
closing question.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from mailbot.cases import kinds, registration, survey, unthreaded, views, workorders
from mailbot.cases.attachments import note_refused, screen_attachments
from mailbot.cases.messages import Incoming, internal_addresses, queue, record_inbound
from mailbot.cases.notices import notify_office
from mailbot.db import record_event
from mailbot.ingest import ledger
from mailbot.ingest.addresses import shown_address
from mailbot.models import Contact, WorkOrder, utcnow
from mailbot.replies import quotes
from mailbot.services import Services
from mailbot.types import Kind, LedgerStatus, Match, Outcome

SUBMITTER = views.SUBMITTER  # the name and phone an unverified web submission gave


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
    mail, refused = screen_attachments(services, mail)
    _mark_certified(session, mail, match)
    requests = settings.charter.requests
    kind, cue = kinds.classify(
        mail.parsed.subject, mail.parsed.text, mailbox_kind=mail.origin.kind or mailbox.kind,
        channel=mail.origin.channel, requests=requests,
    )  # fmt: skip
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
        kind=kind,
        requests=requests,
    )
    if cue:  # why it is not the mailbox's kind: an operator can still say otherwise (#tipo)
        workorders.case_event(session, work_order, "kind", "mailbot", to=kind, cue=cue)
    work_order.sender_alert = match.forged
    channel = mail.origin.channel
    work_order.channel = "pec" if channel == "email" and mailbox.pec else channel
    work_order.postal_address = mail.origin.postal_address
    work_order.desk = mail.origin.desk or mailbox.desk  # issue 29: a desk's case
    if work_order.desk:
        workorders.case_event(session, work_order, "desk", "mailbot", desk=work_order.desk)
    if mail.origin.unverified:  # what the web form was given stays on this case
        record_event(
            session,
            SUBMITTER,
            work_order_id=work_order.id,
            actor="web",
            name=mail.sender.name,
            phone=mail.origin.phone,
            email=shown_address(mail.sender.email),
        )
    if mail.origin.phone and (match.new_contact or not mail.origin.unverified):
        contact = session.get(Contact, work_order.contact_id)
        if contact is not None:
            contact.phone = mail.origin.phone
    # A charter that takes no anonymous reports: the term runs from the citizen's name.
    incomplete = (
        mailbox.anonymous == "ask" and not mail.sender.name.strip() and match.taxpayer_id is None
    )
    if incomplete:
        workorders.suspend(session, work_order, "no name given", "mailbot", services.clock)
    record_inbound(services, session, work_order, mail, "citizen")
    due = registration.due(settings, session, work_order)  # the number comes later
    letter: dict[str, Any] = {  # kept to compose it again with the number
        "number": work_order.number,
        "language": work_order.language,
        "citizen": mail.sender,
        "subject": mail.parsed.subject,
        "received_at": mail.origin.received_at,
        "due_at": work_order.due_at,
        "term_days": work_order.term_days,  # the case's own term (its kind's), as notified
        "term_working": work_order.term_working,
        "office": office,
        "reply_to": mailbox.address,
        "in_reply_to": mail.parsed.message_id,
        "references": mail.parsed.references,
        "refused": refused,
        "oversized": mail.oversized,
        "incomplete": incomplete,
        "from_address": mailbox.smtp.from_address if mailbox.smtp else None,
        "channel": mail.origin.channel,  # a typed address gets none of the sender's words back
    }
    confirmation = services.composer.confirmation(**letter)
    note_refused(session, work_order, mail, refused)
    held_until = registration.confirmation_held_until(settings, due)  # for the number
    queued = queue(
        session,
        work_order,
        "confirmation",
        confirmation,
        limits=settings.limits,
        internal=internal_addresses(services),
        route=mailbox,
        not_before=held_until,
        opened=True,
    )
    if due is not None and queued is not None and held_until is not None:
        registration.hold_confirmation(due, queued, held_until, letter, confirmation)
    notify_office(services, session, work_order, office, mail, kind="notification")
    return ledger.settle(mail.entry, LedgerStatus.FILED, kind=Kind.CITIZEN, work_order=work_order)


def add_followup(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder, match: Match,
    *, via: str = "",
) -> Outcome:  # fmt: skip
    """The citizen writes again: into the case (reopening it if closed recently), to the office;
    on a voided case it is only recorded. A reminder with no thread reference (`via`
    "reminder", cases/unthreaded.py) is recorded as one; the term is the case's still."""
    actor = mail.sender.email
    if work_order.voided_at is not None:  # opened in error: kept with it, nothing sent
        record_inbound(services, session, work_order, mail, "citizen_followup")
        return ledger.settle(
            mail.entry, LedgerStatus.THREADED, kind=Kind.CITIZEN_FOLLOWUP,
            reason="the case is void: recorded, nothing sent", work_order=work_order,
        )  # fmt: skip
    if work_order.status == workorders.CLOSED and services.settings.charter.satisfaction_survey:
        asked = survey.questions(services.settings, work_order.language)
        answer = survey.parse_reply(quotes.new_text(mail.parsed.text), len(asked))
        if answer is not None:
            return _record_satisfaction(services, session, mail, work_order, answer, asked=asked)
    if work_order.status == workorders.CLOSED:
        if not workorders.may_reopen(
            work_order, utcnow(), services.settings.conversations.reopen_days
        ):
            return open_case(services, session, mail, match, parent_id=work_order.id)
        workorders.reopen(session, work_order, actor)
    if via == unthreaded.VIA:
        due = work_order.due_at.isoformat()
        workorders.case_event(session, work_order, "reminder", actor, due_at=due)
    term = services.settings.office(work_order.office).term(work_order.category or None)
    restart = term.on_integration == "restart"
    workorders.resume(session, work_order, actor, services.clock, restart=restart)
    mail, refused = screen_attachments(services, mail)
    note_refused(session, work_order, mail, refused)
    record_inbound(services, session, work_order, mail, "citizen_followup")
    office = services.settings.office(work_order.office)
    notify_office(services, session, work_order, office, mail, kind="forward")
    return ledger.settle(
        mail.entry, LedgerStatus.THREADED, kind=Kind.CITIZEN_FOLLOWUP, work_order=work_order
    )


def _record_satisfaction(
    services: Services,
    session: Session,
    mail: Incoming,
    work_order: WorkOrder,
    answer: survey.Answer,
    *,
    asked: tuple[str, ...],
) -> Outcome:
    """Kept on the closed case and in the conversation; it neither reopens the case nor goes
    to the office as a follow-up."""
    survey.record(session, work_order, answer, asked, channel="email", actor=mail.sender.email)
    record_inbound(services, session, work_order, mail, "satisfaction")
    reason = "satisfaction " + " ".join(f"{s}/5" for s in answer.scores)
    return ledger.settle(
        mail.entry,
        LedgerStatus.THREADED,
        kind=Kind.CITIZEN_FOLLOWUP,
        reason=reason,
        work_order=work_order,
    )


def _mark_certified(session: Session, mail: Incoming, match: Match) -> None:
    if mail.parsed.pec_verified:
        contact = session.get(Contact, match.contact_id)
        if contact is not None and not contact.pec_verified:
            contact.pec_verified = True
            record_event(
                session, "contact.pec_verified", inbound_id=mail.entry.id, contact=contact.email
            )
