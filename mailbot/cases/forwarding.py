"""Forward a case to a third party (a contractor, another administration): a mail from the
case's mailbox to the given address with the staff member's text, the case number and the
attachments chosen (the case's own and new ones), Reply-To the mailbox. Its Message-ID is
signed with the `forward_external` kind (replies/threading.py), one of the STAFF_KINDS: the
third party's answer threads back to the case as staff mail (ingest/classify.py), an internal
note passed on to the office, never to the citizen (cases/staff_mail.py).

The back office's "Inoltra" form and `mailbot workorders forward` both call `forward`: one
action, many doors. The mail is queued; the daemon's outbox loop sends it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from mailbot.cases import access, conversation_log, desk, staff, workorders
from mailbot.cases.messages import store_attachments
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError
from mailbot.log import get_logger, mask_address
from mailbot.models import ConversationMessage, StoredAttachment, WorkOrder
from mailbot.replies import outbox
from mailbot.services import Services
from mailbot.types import Address, Attachment, looks_like_address

log = get_logger(__name__)
KIND = "forward_external"
MAX_TEXT = 20_000


def forward(
    services: Services,
    number: str,
    actor: str,
    to: str,
    text: str,
    *,
    attachments: Sequence[Attachment] = (),
    chosen: Sequence[int] = (),
) -> str:
    """Queue the forward of case `number` to `to`, written by `actor`, with the new
    `attachments` and the case's stored attachments whose ids are in `chosen`. Returns what
    happened, for the member; InputError for what cannot be done."""
    address = to.strip().lower()
    if not looks_like_address(address):
        raise InputError(f"{to!r} is not an email address")
    body = text.strip()
    if not body:
        raise InputError("the forward needs a text: what the third party is asked")
    if len(body) > MAX_TEXT:
        raise InputError(f"the text is longer than {MAX_TEXT} characters")
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        member = staff.directory(services, session).member(actor)
        if not access.may(member, "forward", work_order):  # the role table, as every door
            raise InputError(f"{actor} may not forward case {number} (roles: [[staff]])")
        if work_order.voided_at is not None:
            raise InputError(f"{number} is void ({work_order.void_reason}): nothing sent")
        kept = case_attachments(session, work_order, chosen)
        files = [*_payloads(services, kept), *attachments]
        queue_forward(
            services, session, work_order, actor=actor, address=address, body=body, files=files
        )
    log.info("case forwarded", to=mask_address(address), files=len(files))
    return f"{number}: forward to {address} queued, {len(files)} attachment(s)"


def case_attachments(
    session: Session, work_order: WorkOrder, chosen: Sequence[int]
) -> list[StoredAttachment]:
    """The stored attachments among `chosen` that belong to this case (any other id: refused,
    so that nobody forwards another case's file by changing a number in the form)."""
    if not chosen:
        return []
    rows = session.exec(
        select(StoredAttachment)
        .join(ConversationMessage, col(ConversationMessage.id) == StoredAttachment.message_id)
        .where(ConversationMessage.work_order_id == work_order.id)
        .where(col(StoredAttachment.id).in_(list(chosen)))
        .where(StoredAttachment.sha256 != "")
        .order_by(col(StoredAttachment.id))
    ).all()
    if len(rows) != len(set(chosen)):
        raise InputError("an attachment chosen is not one of this case's")
    return list(rows)


def _payloads(services: Services, rows: Sequence[StoredAttachment]) -> list[Attachment]:
    try:
        return [Attachment(r.filename, r.content_type, services.store.get(r.sha256)) for r in rows]
    except FileNotFoundError:
        raise InputError("an attachment chosen is no longer in the store") from None


def queue_forward(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    actor: str,
    address: str,
    body: str,
    files: Sequence[Attachment],
) -> None:
    """Compose, queue, and log the forward in the conversation and the events."""
    settings = services.settings
    mailbox = settings.mailbox(work_order.mailbox)
    office = desk.signing_office(settings, work_order)
    composed = services.composer.forward_external(
        number=work_order.number,
        language=settings.language,
        to=Address("", address),
        subject=work_order.subject,
        body=body,
        office=office,
        received_at=work_order.received_at,
        reply_to=mailbox.address,
        attachments=files,
        from_address=mailbox.smtp.from_address if mailbox.smtp else None,
    )
    queued = outbox.enqueue(
        session,
        composed,
        kind=KIND,
        work_order_id=work_order.id,
        account=mailbox.name if mailbox.smtp is not None else "",
        pec=mailbox.smtp is not None and mailbox.pec,
    )
    conversation_log.add_message(
        session,
        work_order,
        direction="out",
        kind=KIND,
        from_address=composed.sender,
        to=list(composed.recipients),
        date=queued.created_at,
        subject=composed.subject,
        body_text=body,
        message_id=composed.message_id,
        outbound_id=queued.id,
        author=actor,
        attachments=store_attachments(services, files),
    )
    record_event(
        session,
        "work_order.forwarded",
        work_order_id=work_order.id,
        actor=actor,
        to=address,
        message_id=composed.message_id,
        attachments=[f.filename for f in files],
    )
