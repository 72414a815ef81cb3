"""An answer to an approval request (cases/approval.py): the desk, or the office's responsible,
decides what reaches the citizen.

- `#approva`: the held reply goes as it is. It is run through `operator.apply_operator_message`
  with its author's whole original text and attachments, so every command in it (#chiudi,
  #sospendi, #proroga…) takes effect exactly as if it had been sent directly; it is the
  reasoned reply from now (the clock was untouched while it waited).
- Any other text: the approver's own answer goes to the citizen instead (their commands
  apply), and the held reply is set aside.
- `#respingi MOTIVO`: the author is told why; nothing reaches the citizen.

A request is decided once: a second answer is told so and changes nothing.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from mailbot.cases import approval, charter_commands, operator, staff
from mailbot.cases.messages import Incoming, store_attachments
from mailbot.cases.notices import operator_notice
from mailbot.db import record_event
from mailbot.ingest import ledger
from mailbot.models import WorkOrder
from mailbot.replies import commands, quotes
from mailbot.replies.threading import ThreadRef
from mailbot.roles import Member
from mailbot.services import Services
from mailbot.types import Address, Kind, LedgerStatus, Outcome

_DECISION = re.compile(r"^#(?P<name>approva|respingi)\b[ \t]*(?P<arg>.*)$", re.IGNORECASE)
# What an approver is told (the operator notice's "refused" list), in the case's language.
TOLD = {
    "rejected": {
        "it": "la risposta è stata respinta da {0}: {1}",
        "en": "the reply was sent back by {0}: {1}",
    },
    "reason": {
        "it": "#respingi richiede il motivo: #respingi MOTIVO",
        "en": "#respingi needs the reason: #respingi REASON",
    },
    "decided": {
        "it": "la risposta in attesa era già stata decisa ({0}, {1}): nulla è stato eseguito",
        "en": "the held reply was already decided ({0}, {1}): nothing was carried out",
    },
    "unknown": {
        "it": "nessuna risposta in attesa di approvazione corrisponde a questo messaggio",
        "en": "no reply waiting for approval matches this message",
    },
    "not_yours": {
        "it": "non potete approvare le risposte di questa pratica",
        "en": "you may not approve the replies of this case",
    },
}
# What a reply to an approval request can be classified as and still be a person's answer (an
# auto-reply or a delivery report is not); "staff_mail" is the classifier's kind for the
# institution's side on main (issue 29, part B).
ANSWERS = frozenset({"citizen", "citizen_followup", "operator_reply", "staff_mail"})
WORDS = {
    "approval.approved": {"it": "approvata", "en": "approved"},
    "approval.replaced": {"it": "sostituita", "en": "replaced"},
    "approval.rejected": {"it": "respinta", "en": "sent back"},
}


def answer_to_request(
    services: Services,
    session: Session,
    mail: Incoming,
    ref: ThreadRef | None,
    work_order: WorkOrder | None,
    *,
    kind: Kind,
) -> Outcome | None:
    """staff_mail's door: a person's reply to one of our approval requests (signed code
    "a"), else None. Only staff received one; anyone else's answer to it is kept and ignored,
    never a citizen's."""
    if ref is None or ref.code != "a" or work_order is None or kind not in ANSWERS:
        return None
    member = staff.directory(services, session).member(mail.sender.email)
    office = member is not None and member.speaks_for(work_order.office)
    if office and member is not None and not approval.may_approve(services, member, work_order):
        return None  # the office writing on its own held reply: staff_mail's to handle
    if member is None:
        record_event(
            session, "approval.stranger", work_order_id=work_order.id, inbound_id=mail.entry.id
        )
        return _settle(mail, work_order, "answer to an approval request from outside the staff")
    return answer_approval(services, session, mail, work_order, member)


def answer_approval(
    services: Services, session: Session, mail: Incoming, work_order: WorkOrder, member: Member
) -> Outcome:
    """Carry out `member`'s answer to the approval request `mail` replies to."""
    if not approval.may_approve(services, member, work_order):
        return _tell(services, session, mail, work_order, "not_yours")
    referenced = [m for m in (mail.parsed.in_reply_to, *reversed(mail.parsed.references)) if m]
    request = approval.request_answered(session, work_order, referenced)
    if request is None:
        return _tell(services, session, mail, work_order, "unknown")
    language = work_order.language
    if request.decision:
        word = WORDS[request.decision].get(language, WORDS[request.decision]["en"])
        return _tell(services, session, mail, work_order, "decided", word, request.decided_by)
    text = quotes.new_text(mail.parsed.text)
    decision = _decision(text)
    pending = request.pending
    author = Address("", pending.author or pending.from_address)
    if decision is not None and decision[0] == "respingi":
        reason = decision[1]
        if not reason:
            return _tell(services, session, mail, work_order, "reason")
        who = member.name or member.address
        operator_notice(
            services, session, work_order, operator=author, in_reply_to=pending.message_id,
            errors=[_text("rejected", language, who, reason)],
        )  # fmt: skip
        approval.decide(session, work_order, request, "approval.rejected", member.address,
                        reason=reason)  # fmt: skip
        return _settle(mail, work_order, f"held reply sent back to its author by {who}", True)
    if decision is not None:  # #approva: the held reply, as its author wrote it
        attachments = approval.held_attachments(services, session, pending)
        approval.decide(session, work_order, request, "approval.approved", member.address)
        done = operator.apply_operator_message(
            services, session, work_order, operator=author, text=pending.body_text,
            attachments=attachments, stored=store_attachments(services, attachments),
            inbound_id=mail.entry.id, message_id=pending.message_id,
            date=mail.origin.received_at, approved_by=member.address,
        )  # fmt: skip
        return _settle(mail, work_order, done or "held reply approved and relayed", True)
    # The approver's own answer replaces the held one once it can be carried out (a refused
    # one is explained to them by apply_operator_message; a #nota is only a note).
    parsed = commands.parse(text)
    if not parsed.has("nota") and not charter_commands.problems(services, parsed, work_order):
        approval.decide(session, work_order, request, "approval.replaced", member.address)
    relayable = [a for a in mail.parsed.attachments if not a.inline]
    done = operator.apply_operator_message(
        services, session, work_order, operator=mail.sender, text=text, attachments=relayable,
        stored=store_attachments(services, mail.parsed.attachments), inbound_id=mail.entry.id,
        message_id=mail.parsed.message_id, date=mail.origin.received_at,
        approved_by=member.address,
    )  # fmt: skip
    return _settle(mail, work_order, done or "the approver's own answer relayed", True)


def _decision(text: str) -> tuple[str, str] | None:
    """("approva", "") or ("respingi", reason) from the answer's first line, else None (the
    approver wrote their own answer). The reason may go on below the command."""
    lines = text.strip().splitlines()
    found = _DECISION.match(lines[0].strip()) if lines else None
    if found is None:
        return None
    name = found["name"].lower()
    rest = "\n".join([found["arg"], *lines[1:]]).strip() if name == "respingi" else ""
    return name, rest


def _text(key: str, language: str, *args: str) -> str:
    catalogue = TOLD[key]
    return catalogue.get(language, catalogue["en"]).format(*args)


def _tell(
    services: Services,
    session: Session,
    mail: Incoming,
    work_order: WorkOrder,
    key: str,
    *args: str,
) -> Outcome:
    """The answer changes nothing: its writer is told why."""
    operator_notice(
        services, session, work_order, operator=mail.sender, in_reply_to=mail.parsed.message_id,
        errors=[_text(key, work_order.language, *args)],
    )  # fmt: skip
    record_event(
        session, f"approval.{key}", work_order_id=work_order.id, inbound_id=mail.entry.id,
        actor=mail.sender.email,
    )  # fmt: skip
    return _settle(mail, work_order, _text(key, "en", *args))


def _settle(mail: Incoming, work_order: WorkOrder, reason: str, acted: bool = False) -> Outcome:
    status = LedgerStatus.THREADED if acted else LedgerStatus.IGNORED
    return ledger.settle(
        mail.entry, status, kind=Kind.OPERATOR_REPLY, reason=reason, work_order=work_order
    )
