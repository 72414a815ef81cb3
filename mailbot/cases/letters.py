"""Letters to a citizen with no e-mail address (who came at the counter, by post, fax or
phone): the office's reply becomes a printable PDF (cases/pdf.py) with the case number, the
office's name, the date, the citizen's name and postal address. It is kept in the store as the
attachment of a conversation message of kind "letter" (recorded as a letter, never as mail
sent: nothing to the citizen goes to the outbox), so `mailbot workorders letter NUMBER` prints
it again; given a new postal address, the same letter is made again for it. The office gets it
by mail, to print (an operator who answered from a mail client never needs the command line).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, col, select

from mailbot.cases import conversation_log, staff, wording, workorders
from mailbot.cases.messages import (
    OFFICE_SIDE,
    contact_values,
    office_reply_to,
    queue,
    speakers_for,
    thread_ids,
)
from mailbot.cases.staff import directory
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError, NotFoundError
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    StoredAttachment,
    Taxpayer,
    WorkOrder,
    utcnow,
)
from mailbot.replies.compose import signer
from mailbot.services import Services
from mailbot.types import Attachment, deliverable

KIND = "letter"

NOTICE = {
    "it": {
        "made": "Lettera da stampare e spedire ({channel}) a {to}: "
        "mailbot workorders letter {number} --out {file}",
        "nowhere": "indirizzo postale non registrato: indicarlo con "
        "mailbot workorders letter {number} --address ...",
    },
    "en": {
        "made": "Letter to print and post ({channel}) to {to}: "
        "mailbot workorders letter {number} --out {file}",
        "nowhere": "no postal address recorded: give it with "
        "mailbot workorders letter {number} --address ...",
    },
}


def needs_letter(contact: Contact) -> bool:
    """The citizen has no e-mail address: what the office writes goes on paper."""
    return not deliverable(contact.email)


def postal_address(session: Session, work_order: WorkOrder) -> str:
    """The one the operator recorded, else the registry's for the taxpayer the case is about."""
    if work_order.postal_address:
        return work_order.postal_address
    taxpayer = session.get(Taxpayer, work_order.taxpayer_id) if work_order.taxpayer_id else None
    return taxpayer.postal_address if taxpayer is not None else ""


def file_name(number: str) -> str:
    return f"lettera-{number.replace('/', '-')}.pdf"


def write(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    author: str,
    signature: str,
    body: str,
) -> str:
    """Make the letter, keep it and record it; returns the line that tells the operator."""
    date = utcnow()
    data = _render(services, session, work_order, body=body, date=date, signature=signature)
    sha256 = services.store.put(data)
    office = services.settings.office(work_order.office)
    message = conversation_log.add_message(
        session,
        work_order,
        direction="out",
        kind=KIND,
        from_address=office.email,
        author=author,
        to=[],
        date=date,
        subject=work_order.subject,
        body_text=body,
        message_id=None,
        attachments=[
            conversation_log.NewAttachment(
                file_name(work_order.number), "application/pdf", len(data), sha256
            )
        ],
    )
    record_event(
        session,
        "message.letter",
        work_order_id=work_order.id,
        actor=author,
        conversation_id=message,
        signature=signature,
        channel=work_order.channel,
        sha256=sha256,
        address_recorded=bool(postal_address(session, work_order)),
    )
    _send_to_office(services, session, work_order, data)
    return notice(session, work_order, services.settings.language)


def _send_to_office(
    services: Services, session: Session, work_order: WorkOrder, data: bytes
) -> None:
    """The office gets the letter by mail to print: an operator who answered from a mail client
    sees it without the command line."""
    office = services.settings.office(work_order.office)
    composed = services.composer.to_office(
        "letter_ready",
        number=work_order.number,
        language=work_order.language,
        office=office,
        values={**contact_values(session, work_order), "subject": work_order.subject},
        reply_to=office_reply_to(services, work_order),
        attachments=[Attachment(file_name(work_order.number), "application/pdf", data)],
        references=thread_ids(session, work_order, OFFICE_SIDE),
    )
    queue(session, work_order, "notice", composed)


def notice(session: Session, work_order: WorkOrder, language: str) -> str:
    words = NOTICE.get(language, NOTICE["it"])
    address = postal_address(session, work_order)
    to = address or words["nowhere"].format(number=work_order.number)
    return words["made"].format(
        channel=wording.label("channel", work_order.channel, language),
        to=to,
        number=work_order.number,
        file=file_name(work_order.number),
    )


def latest(services: Services, number: str, new_address: str = "", actor: str = "") -> bytes:
    """The case's last letter, as printed; with `new_address`, the address is recorded on the
    case and the letter made again for it (kept beside the first)."""
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        if new_address.strip():
            people = staff.directory(services, session)
            if actor not in speakers_for(services, people, work_order.office):
                raise InputError(
                    f"--operator {actor!r}: not an operator of office {work_order.office}"
                    " ([[offices]] operators, [[staff]]); it says who records the address"
                )
            work_order.postal_address = " ".join(new_address.split())
            workorders.case_event(session, work_order, "postal_address", actor)
        message = session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == work_order.id)
            .where(ConversationMessage.kind == KIND)
            .order_by(col(ConversationMessage.id).desc())
        ).first()
        if message is None:
            if new_address.strip():
                return b""  # recorded for the letter to come
            raise NotFoundError(f"no letter on case {number}: the citizen was answered by e-mail")
        if new_address.strip():
            signature = _signature(session, work_order, message)
            data = _render(
                services,
                session,
                work_order,
                body=message.body_text,
                date=message.date,
                signature=signature,
            )
            sha256 = services.store.put(data)
            assert message.id is not None
            session.add(
                StoredAttachment(
                    message_id=message.id,
                    filename=file_name(number),
                    content_type="application/pdf",
                    size=len(data),
                    sha256=sha256,
                )
            )
            return data
        stored = session.exec(
            select(StoredAttachment)
            .where(StoredAttachment.message_id == message.id)
            .order_by(col(StoredAttachment.id).desc())
        ).first()
        if stored is None or not stored.sha256:
            raise NotFoundError(f"the letter of case {number} was removed (mailbot purge)")
        return services.store.get(stored.sha256)


def _signature(session: Session, work_order: WorkOrder, message: ConversationMessage) -> str:
    for event in session.exec(
        select(Event)
        .where(Event.work_order_id == work_order.id)
        .where(Event.kind == "message.letter")
        .order_by(col(Event.id).desc())
    ):
        data = json.loads(event.data)
        if data.get("conversation_id") == message.id:
            return str(data.get("signature", ""))
    return ""


def _render(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    *,
    body: str,
    date: datetime,
    signature: str,
) -> bytes:
    settings = services.settings
    office = settings.office(work_order.office)
    contact = session.get(Contact, work_order.contact_id)
    language = work_order.language
    values = {
        "institution": services.composer.institution,
        "office_name": office.name,
        "responsible": signer(office, directory(services, session)),
        "office_phone": office.phone,
        "name": contact.name if contact is not None else "",
        "postal_address": postal_address(session, work_order),
        "date": wording.long_day(date, settings.timezone, language),
        "number": work_order.number,
        "subject": work_order.subject,
        "body": body,
        "signature": signature or office.name,
    }
    # Imported here: only a case without an e-mail address has letters, and ReportLab is 6 MB
    # the daemon would otherwise carry for every other case (issue 32).
    from mailbot.cases import pdf

    return pdf.letter(values, language)
