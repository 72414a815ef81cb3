"""A reasoned reply that lacks what a regulator requires is held before it leaves (issue 33,
item 5; the elements are cases/reply_checks.py's).

By mail, the reply is kept whole (its commands too) as a "held_reply" of the conversation
(internal, never sent) and its author gets a notice naming what is missing, with the reply
template's headings, and the two ways on: answer the notice with the completed reply (checked
again), or with `#invia` alone to send the held one as it is. `#invia` above a reply's text
sends that text unchecked. On the command line and in the back office nothing is held: the
reply is refused with the same list, and `#invia` (the form's "invia comunque") sends it anyway.

Nothing else happens to the case while a reply is held (as with an approval, cases/approval.py):
no command runs, the charter clock goes on. A reply is held until it is sent (`#invia`) or a
reasoned reply leaves by another way (the completed one): then it is stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from mailbot.cases import charter_commands, conversation_log, reply_checks
from mailbot.cases.approval import held_attachments
from mailbot.cases.messages import store_attachments
from mailbot.cases.notices import operator_notice
from mailbot.db import record_event
from mailbot.errors import InputError
from mailbot.models import ConversationMessage, Event, WorkOrder, utcnow
from mailbot.replies import commands
from mailbot.services import Services
from mailbot.types import Address, Attachment

HELD = "held_reply"  # the conversation kind of a held reply
HELD_EVENT, SENT_EVENT = "reply_checks.held", "reply_checks.sent"


def hold(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    lacking: Sequence[str],
    *,
    author: Address,
    text: str,
    attachments: Sequence[Attachment] = (),
    inbound_id: int | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> str:
    """Keep the reply and tell its author what it lacks; returns why nothing was relayed.
    Without a mail to answer (the command line, the back office) it is refused instead."""
    if inbound_id is None:
        raise InputError(refusal(lacking, "en"))
    held_id = conversation_log.add_message(
        session, work_order, direction="in", kind=HELD, from_address=author.email,
        author=author.email, to=[], date=date or utcnow(), subject=work_order.subject,
        body_text=text, message_id=message_id, inbound_id=inbound_id,
        attachments=store_attachments(services, attachments),
    )  # fmt: skip
    record_event(
        session, HELD_EVENT, work_order_id=work_order.id, inbound_id=inbound_id,
        actor=author.email, held=held_id, missing=list(lacking),
    )  # fmt: skip
    language = work_order.language
    operator_notice(
        services, session, work_order, operator=author, in_reply_to=message_id,
        notice="checks", errors=reply_checks.names(lacking, language),
        details={"received_at": work_order.opened_at},
    )  # fmt: skip
    return "held: the reasoned reply lacks " + ", ".join(lacking)


def lacks(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    parsed: commands.Parsed,
    attachments: Sequence[Attachment],
) -> list[str]:
    """What the message lacks when it is to be the case's reasoned reply (relayed, neither a
    question nor an interim message nor a note, the first), not sent anyway (#invia), on a
    regulated complaint: [] otherwise. The mail, the command line and the back office ask."""
    internal = ("invia", "nota", "assegna", "sospendi", "interlocutoria")
    if not parsed.body or work_order.reasoned_reply_at or any(parsed.has(n) for n in internal):
        return []
    return reply_checks.gaps(services, session, work_order, parsed.body, attachments)


# How a refusal says to send the reply anyway: a command, or the back office form's box.
ANYWAY = {
    "it": ("inviatela comunque (#invia sulla prima riga)", "spuntate «Invia comunque»"),
    "en": ("send it anyway (#invia on the first line)", "tick «Send anyway»"),
}


def refusal(lacking: Sequence[str], language: str, *, form: bool = False) -> str:
    """The list, as the command line and the back office (`form`) refuse a reply with it."""
    listed = "; ".join(reply_checks.names(lacking, language))
    anyway = ANYWAY.get(language, ANYWAY["en"])[form]
    if language == "it":
        return (
            f"la risposta motivata di un reclamo regolato manca di: {listed}. Completatela, "
            f"oppure {anyway}"
        )
    return f"the reasoned reply to a regulated complaint lacks: {listed}. Complete it, or {anyway}"


@dataclass(frozen=True)
class Held:
    """A held reply on its way: what to send, on whose behalf, for which mail (`#invia`)."""

    work_order: WorkOrder
    message: ConversationMessage
    author: Address
    attachments: list[Attachment]
    inbound_id: int | None


def gate(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    parsed: commands.Parsed,
    *,
    operator: Address,
    text: str,
    attachments: Sequence[Attachment],
    inbound_id: int | None,
    message_id: str | None,
    date: datetime | None,
) -> str | Held | None:
    """What an operator's message meets before anything is done (operator.py): the held reply
    to send (`#invia` alone), why nothing was relayed (held, or nothing to send), or None: it
    goes on as usual (also when it cannot be carried out: operator.py explains that)."""
    if work_order.voided_at is not None or charter_commands.problems(services, parsed, work_order):
        return None
    if parsed.has("invia") and not parsed.body:
        held = take(services, session, work_order, operator, inbound_id)
        return held or _nothing_held(
            services, session, work_order, operator, mail=(inbound_id, message_id)
        )
    lacking = lacks(services, session, work_order, parsed, attachments)
    if not lacking:
        return None
    return hold(
        services, session, work_order, lacking, author=operator, text=text,
        attachments=attachments, inbound_id=inbound_id, message_id=message_id, date=date,
    )  # fmt: skip


def _nothing_held(
    services: Services, session: Session, work_order: WorkOrder, operator: Address, *,
    mail: tuple[int | None, str | None],
) -> str:  # fmt: skip
    """`#invia` alone, and no reply held: by mail the operator is told, elsewhere refused.
    `mail`: the operator's mail (the ledger's id, its Message-ID); (None, None) elsewhere."""
    inbound_id, message_id = mail
    if inbound_id is None:
        raise InputError(commands.Problem("nothing_held").text("en"))
    errors = [commands.Problem("nothing_held").text(work_order.language)]
    operator_notice(
        services, session, work_order, operator=operator, errors=errors, in_reply_to=message_id
    )
    return commands.Problem("nothing_held").text("en")


def take(
    services: Services,
    session: Session,
    work_order: WorkOrder,
    operator: Address,
    inbound_id: int | None,
) -> Held | None:
    """The reply held on this case, now on its way (`#invia` alone): None when there is none,
    or it is stale (a reasoned reply has left since)."""
    if work_order.reasoned_reply_at is not None:
        return None
    latest = session.exec(
        select(Event)
        .where(Event.work_order_id == work_order.id)
        .where(col(Event.kind).in_((HELD_EVENT, SENT_EVENT)))
        .order_by(col(Event.id).desc())
    ).first()
    if latest is None or latest.kind == SENT_EVENT:
        return None
    held_id = int(json.loads(latest.data)["held"])
    message = session.get(ConversationMessage, held_id)
    if message is None:
        return None
    record_event(
        session, SENT_EVENT, work_order_id=work_order.id, actor=operator.email, held=held_id
    )
    writer = message.author or message.from_address
    author = operator if writer.lower() == operator.email.lower() else Address("", writer)
    attachments = held_attachments(services, session, message)
    return Held(work_order, message, author, attachments, inbound_id)
