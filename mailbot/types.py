"""Frozen value objects passed between pipeline stages.

Stages never import each other; they exchange these values through `pipeline.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a raw message came from: enough to find it again and to deduplicate it."""

    mailbox: str
    received_at: datetime  # when the mailbox got it (IMAP INTERNALDATE, Maildir delivery), UTC
    uidvalidity: int | None = None  # IMAP only
    uid: int | None = None  # IMAP only
    source_ref: str | None = None  # Maildir unique name
    # Oversized mail: the source streamed the whole original into the store; the bytes handed
    # to the pipeline are only its head (headers and the first part), enough for the text.
    stored_sha256: str | None = None
    size: int | None = None
    # How it reached us: "email" for mail from a mailbox (a PEC box's cases say "pec"), or the
    # channel an operator typed it in from (`workorders open --channel`): never a header.
    channel: str = "email"
    # What an operator took down beside the text (`workorders open --phone/--address`): the
    # office's notification shows them, and a letter goes to the postal address.
    phone: str = ""
    postal_address: str = ""
    # The desk that typed it in (`workorders open` by a desk member, or --desk): its case.
    desk: str = ""
    # The kind of request an operator said it is (`workorders open --kind`); "": the mailbox's.
    kind: str = ""

    @property
    def unverified(self) -> bool:
        """Typed into the online desk by anyone on the internet: it threads on no case (tag,
        reference or address) and changes no known contact; it opens a case of its own."""
        return self.channel == "web"


# Someone who came to the counter or phoned, with no email address, gets a contact here: a
# reserved domain (RFC 2606) that nothing is ever delivered to.
NO_ADDRESS_DOMAIN = "nessun-indirizzo.invalid"


def deliverable(address: str) -> bool:
    return not address.lower().endswith("@" + NO_ADDRESS_DOMAIN)


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def looks_like_address(value: str) -> bool:
    """A plausible addr-spec: one @, a dotted domain, no blanks or brackets."""
    return _EMAIL.match(value) is not None


def normalise_address(address: str) -> str:
    """The form addresses are compared and stored in: no brackets or blanks, lower case."""
    return address.strip().strip("<>").strip().lower()


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    email: str  # normalised: lower case, no surrounding blanks


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    payload: bytes
    inline: bool = False  # referenced by Content-ID from the HTML (logos, signature images)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What a case needs from one email, decoded."""

    message_id: str | None
    subject: str
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None  # the sender's Date header: informative only
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    attachments: tuple[Attachment, ...] = ()
    html: str = ""  # sanitised: safe to show to an operator
    pec_verified: bool = False  # a certified envelope, signature valid, sender as certified
    # Lower-cased header names → first value, for the headers classification reads.
    headers: dict[str, str] = field(default_factory=dict)
    # Every Authentication-Results header, topmost (the receiving server's) first.
    auth_results: tuple[str, ...] = ()
    # The content type of every MIME part, outermost first (a returned message/rfc822…).
    content_types: tuple[str, ...] = ()
    # A From line built to mislead the office: the addresses after the first (only the first
    # is the sender), and an address written in the display name that is not the sender's.
    other_from: tuple[str, ...] = ()
    name_address: str = ""


class Kind(StrEnum):
    """Why a message is what it is; one predicate each in `ingest.classify`."""

    CITIZEN = "citizen"
    CITIZEN_FOLLOWUP = "citizen_followup"
    OPERATOR_REPLY = "operator_reply"
    STAFF_MAIL = "staff_mail"  # the institution's side, not speaking for the office here
    OWN_MAIL = "own_mail"
    AUTO_GENERATED = "auto_generated"
    BOUNCE = "bounce"
    PEC_RECEIPT = "pec_receipt"


class LedgerStatus(StrEnum):
    RECEIVED = "received"  # only ever seen inside the open transaction
    FILED = "filed"  # opened a work order
    THREADED = "threaded"  # joined an existing work order (follow-up, operator reply)
    IGNORED = "ignored"  # recorded, deliberately not acted on (own mail, auto-replies)
    BOUNCE = "bounce"  # a delivery report: linked to what we sent, never a case
    RECEIPT = "receipt"  # a PEC receipt or notice: evidence, never a case, never answered
    REJECTED = "rejected"  # permanent mail problem
    QUARANTINED = "quarantined"  # unexpected error during processing
    SPAM = "spam"  # a spam filter's verdict: held, no case, nothing sent; an admin may release
    DISCARDED = "discarded"  # an admin dismissed it from the quarantine; bytes still kept


class MatchRule(StrEnum):
    PEC_VERIFIED = "pec_verified"  # a certified PEC sender, registered
    REGISTRY_ADDRESS = "registry_address"  # the From address, registered to one taxpayer
    CLAIMED_CODE = "claimed_code"  # a valid code written in the message: to confirm
    AMBIGUOUS_ADDRESS = "ambiguous_address"  # an address several taxpayers share
    SIMILAR_NAME = "similar_name"  # the display name resembles a registered one: suggestion
    GENERIC_CONTACT = "generic_contact"
    OPERATOR = "operator"  # an operator linked the case by hand


class MatchState(StrEnum):
    """How far a case's link to a taxpayer can be trusted."""

    LINKED = "linked"  # an authentic sender at a registered address
    UNVERIFIED = "unverified"  # a registered address, but the sender is not authenticated
    TO_CONFIRM = "to_confirm"  # a code the sender wrote: a claim
    SUGGESTED = "suggested"  # only names alike: not linked
    AMBIGUOUS = "ambiguous"  # several taxpayers share the address: not linked
    GENERIC = "generic"
    CONFIRMED = "confirmed"  # an operator said who it is


@dataclass(frozen=True, slots=True)
class Match:
    """Which contact a sender is, which taxpayer the case is about, and how sure we are."""

    contact_id: int
    rule: MatchRule
    confidence: float
    taxpayer_id: int | None = None
    candidates: tuple[int, ...] = ()  # taxpayers it might be (ambiguous, suggested)
    state: MatchState = MatchState.GENERIC
    verified: bool = False  # the sender's address is authentic
    evidence: str = ""  # why: which authentication result, which code, which score
    forged: str = ""  # why the sender is very likely forged: nothing automatic goes to it
    new_contact: bool = False  # the sender's contact was made for this message


@dataclass(frozen=True, slots=True)
class Outcome:
    """What processing one raw message did."""

    status: LedgerStatus
    inbound_id: int | None
    work_order_number: str | None = None
    reason: str | None = None
    duplicate: bool = False
