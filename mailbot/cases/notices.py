"""Messages mailbot writes about a case: the office's notification and forwards (with the
case's own deadline), the citizen's extension and closing notices (copied to the URP and the
office's supervisors as a relayed reply is), an operator's explanation, and the office's
notice of mail that did not arrive. The notice to a newly assigned office is handover.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from mailbot.cases import desk, kinds, refunds, reply_checks, survey, wording
from mailbot.cases.messages import (
    CITIZEN_SIDE,
    OFFICE_SIDE,
    Incoming,
    contact_values,
    office_reply_to,
    queue,
    thread_ids,
)
from mailbot.cases.staff import directory
from mailbot.config import OfficeSettings
from mailbot.db import record_event, unit_of_work
from mailbot.models import Contact, Event, OutboundMessage, WorkOrder
from mailbot.replies import outbox
from mailbot.services import Services
from mailbot.types import Address, Attachment


def tell_citizen(
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
    thread = thread_ids(session, work_order, CITIZEN_SIDE)
    composed = services.composer.to_citizen(
        kind,
        number=work_order.number,
        language=work_order.language,
        citizen=Address(contact.name, contact.email),
        subject=work_order.subject,
        office=desk.signing_office(services.settings, work_order),  # issue 29: a desk signs
        values=values,
        reply_to=mailbox.address,
        in_reply_to=thread[-1] if thread else None,
        references=thread[:-1],
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
        channel=work_order.channel,  # a typed address gets none of the sender's words back
        staff=directory(services, session),  # who gets the copies, who signs for the office
    )
    # No e-mail address (a printed letter): `queue` holds the message, copies and all.
    queue(session, work_order, kind, composed, route=mailbox)


def closing_letter(services: Services, session: Session, work_order: WorkOrder) -> None:
    """The citizen's letter that the case is closed: the survey, how to reopen, refunds due."""
    settings = services.settings
    due = [
        {"reason": r.reason, "amount": r.amount_eur, "compensation": r.compensation,
         "pay_by": r.pay_by}
        for r, _ in refunds.refunds(session, refunds.DUE, work_order.id)
    ]  # fmt: skip
    values = {
        "survey": settings.charter.satisfaction_survey,
        "questions": survey.questions(settings, work_order.language),
        "survey_url": survey.link(settings, work_order),
        "reopen_days": settings.conversations.reopen_days,
        "refunds": due,
    }
    tell_citizen(services, session, work_order, "closing", values)


def deadline_values(services: Services, work_order: WorkOrder) -> dict[str, Any]:
    """What the office's messages say of the case's own term: the due day (after extensions
    and pauses: `due_at`), the days left, the term with its extension, whether the clock
    stands still (suspended); a handed-over case keeps them all."""
    clock = services.clock
    suspended = work_order.status == "suspended"
    return {
        "due_at": work_order.due_at,
        "days_left": (clock.local_day(work_order.due_at) - clock.today()).days,
        "term_days": work_order.term_days,
        "term_working": work_order.term_working,
        "extension_days": work_order.extension_days,
        "suspended_at": work_order.suspended_at if suspended else None,
    }


def _kind_values(services: Services, work_order: WorkOrder, mail: Incoming) -> dict[str, Any]:
    """The kind of request in words, shown under a regulated profile or when it is not the
    mailbox's own, with the cue that decided it when mailbot classified this mail so."""
    settings = services.settings
    mailbox_kind = settings.mailbox(work_order.mailbox).kind
    shown = settings.charter.requests.profile != "municipal" or work_order.kind != mailbox_kind
    kind, cue = kinds.classify(
        mail.parsed.subject, mail.parsed.text, mailbox_kind=mailbox_kind,
        channel=mail.origin.channel, requests=settings.charter.requests,
    )  # fmt: skip
    cue = cue if kind == work_order.kind else ""
    return wording.kind_values(work_order.kind, work_order.language, shown=shown, cue=cue)


# A notification that is not a handover (handover.py fills these in).
NOT_HANDED_OVER: dict[str, Any] = {"handover": None, "left_out": []}


def notify_office(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    office: OfficeSettings,
    mail: Incoming,
    *,
    kind: str,
) -> None:
    values = {
        **contact_values(session, work_order),
        "subject": mail.parsed.subject or work_order.subject,
        "received_at": mail.origin.received_at,
        "body": mail.parsed.text,
        "body_html": mail.parsed.html,
        "other_from": list(mail.parsed.other_from),
        "name_address": mail.parsed.name_address,
        **deadline_values(services, work_order),
        **NOT_HANDED_OVER,
        "reply_template": reply_checks.applies(services, work_order),  # issue 33, item 5
        **_kind_values(services, work_order, mail),
    }
    if mail.origin.unverified:  # the web form: what this submission gave, not the contact's
        reachable = bool(values["contact_reachable"])
        shown = mail.sender.name or (str(values["contact_email"]) if reachable else "")
        values |= {"contact_name": shown, "contact_phone": mail.origin.phone}
    carried, values["linked"] = for_mail(services, mail.parsed.attachments)
    to_office(services, session, work_order, kind, values, office=office,
              attachments=carried)  # fmt: skip


def for_mail(
    services: Services, attachments: Sequence[Attachment]
) -> tuple[list[Attachment], list[dict[str, Any]]]:
    """What the office's notification carries, and what it only lists (name, size in MB): with
    a back office to download from, attachments travel up to `backoffice.mail_attachments_kb`
    together (in their order, a small one after one that did not fit still goes; images the
    HTML shows always go); the others stay on the case's page. Without one, all travel.
    Composing and sending a large file twice was a quarter of a backlog's time (issue 32)."""
    backoffice = services.settings.backoffice
    if not backoffice.public_url:
        return list(attachments), []
    room = backoffice.mail_attachments_kb * 1024
    carried, linked = [], []
    for attachment in attachments:
        size = len(attachment.payload)
        if attachment.inline or size <= room:
            carried.append(attachment)
            room -= 0 if attachment.inline else size
        else:
            linked.append({"filename": attachment.filename, "size_mb": megabytes(size)})
    return carried, linked


def megabytes(size: int) -> int | float:
    """25 MB, not 25.0 MB; 0.5 MB stays 0.5 (small files: 0.1 at least)."""
    value = max(round(size / 1024 / 1024, 1), 0.1)
    return int(value) if value.is_integer() else value


def to_office(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    kind: str,
    values: dict[str, Any],
    *,
    office: OfficeSettings,
    attachments: Sequence[Attachment] = (),
) -> None:
    """A message about the case to an office, threaded with the case's other office mail;
    answering it comes back into the mailbox (a notification, a forward, a note, a handover)."""
    composed = services.composer.to_office(
        kind,
        number=work_order.number,
        language=work_order.language,
        office=office,
        values=values,
        reply_to=office_reply_to(services, work_order),
        attachments=attachments,
        references=thread_ids(session, work_order, OFFICE_SIDE),
    )
    queue(session, work_order, kind, composed)


def operator_notice(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    operator: Address,
    errors: Sequence[str] = (),
    in_reply_to: str | None,
    notice: str = "refused",
    details: dict[str, Any] | None = None,
) -> None:
    """A short message to an operator about what their mail did or could not do (`notice`:
    replies/office_mail.NOTICES), with every command; answering it reaches the case."""
    composed = services.composer.operator_notice(
        number=work_order.number,
        language=work_order.language,
        operator=operator,
        subject=work_order.subject,
        errors=errors,
        reply_to=office_reply_to(services, work_order),
        in_reply_to=in_reply_to,
        notice=notice,
        details=details,
    )
    queue(session, work_order, "notice", composed)
    record_event(
        session,
        f"operator_notice.{notice}",
        work_order_id=work_order.id,
        to=operator.email,
    )


def already_told(session: Session, work_order: WorkOrder, notice: str) -> bool:
    """Whether the case's operators already had this notice (some are sent once a case)."""
    return (
        session.exec(
            select(Event.id)
            .where(Event.work_order_id == work_order.id)
            .where(Event.kind == f"operator_notice.{notice}")
        ).first()
        is not None
    )


OFFICE_BOUND = frozenset({"notification", "forward", "notice", "transcript"})


@dataclass(frozen=True)
class Failure:
    address: str
    status: str
    diagnostic: str


def tell_office_of_failure(
    services: Services, session: Session, sent: OutboundMessage, failures: Sequence[Any]
) -> bool:
    """One notice to the case's office about a message that did not reach its recipient.
    Never about mail that went to an office itself: a notice about a bounced notice to a
    bouncing office address would loop (offices are not rate-limited)."""
    work_order = session.get(WorkOrder, sent.work_order_id) if sent.work_order_id else None
    if work_order is None or sent.kind in OFFICE_BOUND or work_order.voided_at is not None:
        return False  # nobody else to tell (or a voided case): it is in the log and the trail
    notice = services.composer.bounce_notice(
        number=work_order.number,
        language=work_order.language,
        office=services.settings.office(work_order.office),
        subject=work_order.subject,
        kind=sent.kind,
        sent_at=sent.sent_at or sent.created_at,
        recipients=failures,
        reply_to=office_reply_to(services, work_order),
    )
    queue(session, work_order, "notice", notice)
    return True


def report_failures(services: Services) -> int:
    """Tell the office about messages to citizens that finally failed (5xx, or not delivered
    within `deliver_until`); each is reported once. Returns how many were reported."""
    reported = 0
    with unit_of_work(services.engine) as session:
        for sent in outbox.unreported_failures(session):
            sent.failure_reported = True
            failures = [Failure(r, "", sent.last_error or "") for r in sent.recipients.split(", ")]
            if tell_office_of_failure(services, session, sent, failures):
                reported += 1
    return reported
