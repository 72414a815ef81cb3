"""What kind of mail is this? One small named predicate per reason, checked in order.

Machine mail first (our own mail coming back, auto-replies, bounces, lists): it must never get
an automatic answer, since answering machines with machines is how mail loops start. Then, for
mail that continues a case (the pipeline resolves the thread and passes it in as a value), who
is writing: an operator answering what we sent the office, or the citizen following up. A
subject tag alone is trusted only from the case's contact; an operator's address alone is never
enough to speak for the office.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.types import Kind, ParsedMessage

LOOP_HEADER = "x-mailbot-loop"
_MACHINE_LOCALPARTS = (
    "mailer-daemon",
    "post_master",
    "postmaster",
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "bounce",
    "bounces",
    "auto-reply",
    "autoreply",
)
# Addresses of list managers (Mailman, fml, ezmlm…): never a person writing a complaint.
_LIST_SOFTWARE_SUFFIXES = ("-admin", "-owner", "-bounces", "-request", "-errors")
# Systems that write by PEC and must never get a confirmation (FORMAT.md decision table).
_ROBOTS = re.compile(r"^sdi\d+@pec\.fatturapa\.it$")
_SYSTEM_LOCALPARTS = ("mailer-daemon", "postmaster", "post_master", "mail-daemon", "mailerdaemon")
_PREFIX = r"^(?:(?:r|re|i|fw|fwd|aw|wg|tr|rif)\s*:\s*)*"
# Unambiguous at the start of a subject, whatever follows.
_OOO = re.compile(
    _PREFIX + r"(?:risposta automatica|risposta di assenza|out of office|automatic reply|"
    r"auto[- ]?reply|autoresponse|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|"
    r"absence|respuesta autom[áa]tica|fuera de la oficina)\b",
    re.IGNORECASE,
)
# Words a complaint may also start with ("Assente il servizio…"): only as the whole subject,
# followed by ":" or a date, or with other evidence of machine mail.
_OOO_WEAK = re.compile(
    _PREFIX + r"(?:fuori sede|assente|fuori ufficio|in ferie|vacanza)"
    r"(?:\s*$|\s*[:\-\u2013(]|\s+(?:dal|fino|al)\b)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    _PREFIX + r"(?:undeliver(?:ed|able)|delivery (?:status notification|failure|has failed)|"
    r"mail delivery failed|returned mail|failure notice|non recapitabile|mancata consegna|"
    r"messaggio non recapitato|unzustellbar|non remis|delivery notification|delivery status|"
    r"complaint about message from)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Context:
    own_addresses: frozenset[str]


@dataclass(frozen=True)
class Thread:
    """What the pipeline learned about the case this message continues."""

    via: str  # "signed", "token", "message_id" or "subject"
    to_operators: bool  # it answers a signed message (or token) we sent to the office
    operators: frozenset[str]  # the case's office: configured operators and its own address
    contact: str  # the case's contact address


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: str


def is_own_mail(msg: ParsedMessage, ctx: Context) -> str | None:
    if LOOP_HEADER in msg.headers:
        return "carries our loop header"
    if msg.sender is not None and msg.sender.email in ctx.own_addresses:
        return "sent from one of our own addresses"
    return None


def is_delivery_report(msg: ParsedMessage, ctx: Context) -> str | None:
    """A DSN (RFC 3464), a feedback report, or a mail system's non-standard bounce."""
    content_type = msg.headers.get("content-type", "").lower()
    if "multipart/report" in content_type:
        return "multipart/report"
    sender = msg.sender.email.split("@")[0] if msg.sender else ""
    from_system = sender in _SYSTEM_LOCALPARTS or msg.sender is None
    null_sender = msg.headers.get("return-path", "").strip() == "<>"
    if (from_system or null_sender) and _BOUNCE_SUBJECT.search(msg.subject):
        return "delivery failure notice from the mail system"
    return None


def is_auto_submitted(msg: ParsedMessage, ctx: Context) -> str | None:
    value = msg.headers.get("auto-submitted", "").strip().lower()
    # RFC 3834: anything but "no" is machine mail; a forward is still a human's mail.
    if value and value != "no" and not value.startswith("auto-forwarded"):
        return f"Auto-Submitted: {value}"
    return None


def is_bulk(msg: ParsedMessage, ctx: Context) -> str | None:
    precedence = msg.headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("x-autoreply", "x-autorespond"):
        if header in msg.headers:
            return f"{header} present"
    if "list-id" in msg.headers or "list-unsubscribe" in msg.headers:
        return "mailing-list mail (List-Id/List-Unsubscribe)"
    return None


def is_out_of_office(msg: ParsedMessage, ctx: Context) -> str | None:
    if _OOO.search(msg.subject):
        return f"out-of-office subject: {msg.subject[:60]!r}"
    if _OOO_WEAK.search(msg.subject):
        return f"out-of-office subject: {msg.subject[:60]!r}"
    if "x-auto-response-suppress" in msg.headers and re.search(
        r"\b(assente|fuori sede|out of office|away)\b", msg.subject, re.IGNORECASE
    ):
        return "X-Auto-Response-Suppress with an absence subject"
    return None


def is_machine_sender(msg: ParsedMessage, ctx: Context) -> str | None:
    local = msg.sender.email.split("@")[0] if msg.sender is not None else ""
    if local in _MACHINE_LOCALPARTS:
        return "sender is a mail system address"
    if local.endswith(_LIST_SOFTWARE_SUFFIXES):
        return "sender is mailing-list software"
    if msg.sender is not None and _ROBOTS.match(msg.sender.email):
        return "sender is an institutional robot (e.g. the SdI)"
    if msg.headers.get("return-path", "").strip() == "<>":
        return "empty Return-Path"
    return None


Predicate = Callable[[ParsedMessage, Context], "str | None"]
RULES: tuple[tuple[Kind, Predicate], ...] = (
    (Kind.OWN_MAIL, is_own_mail),
    (Kind.BOUNCE, is_delivery_report),  # before auto-replies: bounces often say auto-replied
    (Kind.AUTO_GENERATED, is_auto_submitted),
    (Kind.AUTO_GENERATED, is_bulk),
    (Kind.AUTO_GENERATED, is_out_of_office),
    (Kind.AUTO_GENERATED, is_machine_sender),
)


def is_operator_reply(msg: ParsedMessage, thread: Thread) -> str | None:
    if msg.sender is not None and msg.sender.email in thread.operators and thread.to_operators:
        return f"operator of the office, answering by {thread.via} reference"
    return None


def is_citizen_followup(msg: ParsedMessage, thread: Thread) -> str | None:
    if thread.via == "subject":
        if msg.sender is not None and msg.sender.email == thread.contact:
            return "subject tag, from the case's contact"
        return None  # a stranger's subject tag never attaches to someone else's case
    return f"follow-up by {thread.via} reference"


CONVERSATION_RULES: tuple[tuple[Kind, Callable[[ParsedMessage, Thread], str | None]], ...] = (
    (Kind.OPERATOR_REPLY, is_operator_reply),
    (Kind.CITIZEN_FOLLOWUP, is_citizen_followup),
)


def classify(msg: ParsedMessage, ctx: Context, thread: Thread | None = None) -> Verdict:
    for kind, predicate in RULES:
        reason = predicate(msg, ctx)
        if reason is not None:
            return Verdict(kind, reason)
    if thread is not None:
        for kind, conversation_rule in CONVERSATION_RULES:
            reason = conversation_rule(msg, thread)
            if reason is not None:
                return Verdict(kind, reason)
    return Verdict(Kind.CITIZEN, "mail from a person")
