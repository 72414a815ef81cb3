"""Mail from staff (an office's operators or the office's own address) that names a case but
answers nothing mailbot sent them: a new mail with `[Pratica N]` in the subject, or a client
that dropped In-Reply-To. It is never a citizen's: no case is opened, nothing reaches the
citizen, and the writer is told to answer the case's notification (whose signed reference is
what lets an operator speak for the office).
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.cases.messages import Incoming
from mailbot.cases.notices import operator_notice
from mailbot.db import record_event
from mailbot.ingest import ledger
from mailbot.models import Contact, WorkOrder
from mailbot.replies import outbox, threading
from mailbot.services import Services
from mailbot.types import Kind, LedgerStatus, Outcome

# How a reply can find its case without a reference signed for the office's people.
UNSIGNED = frozenset({"subject", "message_id"})


def staff_addresses(services: Services) -> frozenset[str]:
    offices = services.settings.offices.values()
    return frozenset({o.email for o in offices} | {op for o in offices for op in o.operators})


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
    if sender is None or sender.email not in staff_addresses(services):
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
