"""Our Message-IDs and subject tags.

Every message we send gets a Message-ID that names its work order and carries an HMAC of that
name made with the server secret: a reply that references it can be tied to the case without
trusting anything else the sender wrote. The subject tag `[Pratica 2026/000123]` is the
fallback for clients that drop threading headers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from mailbot.models import ConversationMessage, OutboundMessage, WorkOrder
from mailbot.types import ParsedMessage

_SIGNED = re.compile(
    r"^<mb\.(?P<year>\d{4})-(?P<seq>\d{6})\.(?P<kind>[a-z]{1,3})\.(?P<nonce>[0-9a-f]{8})"
    r"\.(?P<sig>[0-9a-f]{16})@[^>]+>$"
)
# Short kind codes keep the Message-ID header on one line for ordinary domains.
KIND_CODES = {
    "confirmation": "c",
    "notification": "n",
    "relay": "r",
    "forward": "f",
    "notice": "x",
    "operator_notice": "o",
    "transcript": "t",
    "bounce_notice": "b",
    "approval": "a",  # an answer waiting for the responsible's or the desk's approval
    "internal_note": "i",  # a staff member's note passed on to the office
    "forward_external": "e",  # a case forwarded to a third party (cases/forwarding.py)
    "protocol_alert": "p",  # a registration in the protocol register keeps failing
}
# Messages that went to the office: replying to one of these is how an operator answers.
OPERATOR_KINDS = frozenset({"n", "f", "o", "i"})
# Messages that went to the institution only (never to the citizen): a reply to one is staff's.
# A third party's answer to a forward ("e") is an internal note for the office.
STAFF_KINDS = OPERATOR_KINDS | {"a", "t", "b", "e", "p"}
_TAG = re.compile(r"\[Pratica (\d{4}/\d{6})\]", re.IGNORECASE)


def _signature(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def make_message_id(secret: bytes, number: str, kind: str, domain: str) -> str:
    code = KIND_CODES.get(kind, kind[:3])
    token = f"{number.replace('/', '-')}.{code}.{secrets.token_hex(4)}"
    return f"<mb.{token}.{_signature(secret, token)}@{domain}>"


def verify_message_id(secret: bytes, message_id: str) -> str | None:
    """The work order number a Message-ID of ours names, or None if it is not ours or forged."""
    signed = read_signed(secret, message_id)
    return signed[0] if signed else None


def read_signed(secret: bytes, message_id: str) -> tuple[str, str] | None:
    """(work order number, kind code) of a genuine Message-ID of ours, else None."""
    found = _SIGNED.match(message_id.strip())
    if not found:
        return None
    token = f"{found['year']}-{found['seq']}.{found['kind']}.{found['nonce']}"
    if not hmac.compare_digest(found["sig"], _signature(secret, token)):
        return None
    return f"{found['year']}/{found['seq']}", found["kind"]


def subject_tag(number: str) -> str:
    return f"[Pratica {number}]"


def tagged_subject(number: str, subject: str) -> str:
    """`[Pratica N] subject`, without repeating a tag the subject already carries."""
    clean = " ".join(_TAG.sub("", subject).split()) if number in subject else subject.strip()
    return f"{subject_tag(number)} {clean}".strip()


def number_in_subject(subject: str) -> str | None:
    found = _TAG.search(subject)
    return found.group(1) if found else None


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1]


def plus_address(address: str, token: str) -> str:
    """suggerimenti@x.it + token → suggerimenti+token@x.it"""
    local, _, domain = address.partition("@")
    return f"{local}+{token}@{domain}"


def token_in(recipients: Sequence[str], address: str) -> str | None:
    """The reply token of a plus-address of `address` among the recipients, if any."""
    local, _, domain = address.partition("@")
    for recipient in recipients:
        r_local, _, r_domain = recipient.partition("@")
        if r_domain == domain and r_local.startswith(local + "+"):
            token = r_local[len(local) + 1 :]
            if re.fullmatch(r"[0-9a-f]{16}", token):
                return token
    return None


@dataclass(frozen=True)
class ThreadRef:
    """Which case a message belongs to, and how we know."""

    work_order_id: int
    number: str
    via: str  # "signed" (our Message-ID), "token", "message_id" (a stored one), "subject"
    to_operators: bool  # it answers something we sent to the office (signed or by token)
    code: str = ""  # the KIND_CODES code of the signed message it answers ("" if none)


def resolve(
    session: Session, secret: bytes, msg: ParsedMessage, mailbox_address: str
) -> ThreadRef | None:
    """Find the case a message continues: our signed Message-IDs first, then the reply token,
    then any Message-ID of the case's conversation, then the subject tag (trusted by the caller
    only from the case's contact)."""
    referenced = [m for m in (msg.in_reply_to, *reversed(msg.references)) if m]
    for message_id in referenced:
        signed = read_signed(secret, message_id)
        if signed:
            work_order = _by_number(session, signed[0])
            if work_order is not None:
                return _ref(work_order, "signed", signed[1] in OPERATOR_KINDS, signed[1])
    token = token_in([a.email for a in (*msg.to, *msg.cc)], mailbox_address)
    if token:
        work_order = session.exec(select(WorkOrder).where(WorkOrder.reply_token == token)).first()
        if work_order is not None:
            return _ref(work_order, "token", True)
    pec_ref = _by_provider_id(session, referenced)
    if pec_ref is not None:
        return pec_ref
    if referenced:
        row = session.exec(
            select(ConversationMessage.work_order_id)
            .where(col(ConversationMessage.message_id).in_(referenced))
            .order_by(col(ConversationMessage.id).desc())
        ).first()
        if row is not None:
            work_order = session.get(WorkOrder, row)
            if work_order is not None:
                return _ref(work_order, "message_id", False)
    number = number_in_subject(msg.subject)
    if number:
        work_order = _by_number(session, number)
        if work_order is not None:
            return _ref(work_order, "subject", False)
    return None


def _by_provider_id(session: Session, referenced: Sequence[str]) -> ThreadRef | None:
    """A reply to our PEC references the identificativo its provider gave it (the Message-ID
    the citizen saw), not ours: it came back in the acceptance receipt."""
    if not referenced:
        return None
    sent = session.exec(
        select(OutboundMessage)
        .where(col(OutboundMessage.pec_provider_id).in_([provider_key(m) for m in referenced]))
        .where(col(OutboundMessage.work_order_id).is_not(None))
        .order_by(col(OutboundMessage.id).desc())
    ).first()
    if sent is None or sent.work_order_id is None:
        return None
    work_order = session.get(WorkOrder, sent.work_order_id)
    if work_order is None:
        return None
    code = KIND_CODES.get(sent.kind, "")
    return _ref(work_order, "pec_id", code in OPERATOR_KINDS, code)


def _by_number(session: Session, number: str) -> WorkOrder | None:
    return session.exec(select(WorkOrder).where(WorkOrder.number == number)).first()


def _ref(work_order: WorkOrder, via: str, to_operators: bool, code: str = "") -> ThreadRef:
    assert work_order.id is not None
    return ThreadRef(work_order.id, work_order.number, via, to_operators, code)


def provider_key(message_id: str) -> str:
    """A PEC identificativo as stored and compared: no angle brackets or spaces, lower case
    (providers' ids are lower case; a client that changed the case still threads)."""
    return message_id.strip().strip("<>").strip().lower()
