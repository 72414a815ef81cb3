"""What kind of mail is this? One small named predicate per reason, checked in order.

Machine mail first (our own mail coming back, auto-replies, bounces, lists): it must never get
an automatic answer, since answering machines with machines is how mail loops start. Then, for
mail that continues a case (the pipeline resolves the thread and passes it in as a value), who
is writing: an operator answering what we sent the office, another member of the staff (never
the citizen, whatever they answer), or the citizen following up. A subject tag alone is trusted
only from the case's contact; an operator's address alone is never enough to speak for the
office.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mailbot.ingest import notices, signals
from mailbot.types import Kind, ParsedMessage

LOOP_HEADER = "x-mailbot-loop"
_MACHINE_LOCALPARTS = (
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
_PREFIX = signals.PREFIX
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
_NOTICE_WINDOW = 5000  # reports put what they say first; a long quote below is not the report
# How many weak signs must agree before mail is taken for a machine's (see is_machine_like).
WEAK_SIGNS_NEEDED = 2


@dataclass(frozen=True)
class Context:
    own_addresses: frozenset[str]


@dataclass(frozen=True)
class Thread:
    """What the pipeline learned about the case this message continues."""

    via: str  # "signed", "token", "message_id", "subject" or "reminder"
    to_operators: bool  # it answers a signed message (or token) we sent to the office
    operators: frozenset[
        str
    ]  # who speaks for the case's office: its operators, responsible, address
    contact: str  # the case's contact address
    forged: str = ""  # a trusted server's DMARC/DKIM/SPF failure on this message's From
    staff: frozenset[str] = frozenset()  # every address on the institution's side
    to_staff: bool = False  # it answers a message of ours only the institution received


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
    """A DSN (RFC 3464), a feedback report (ARF), or a mail system's non-standard report:
    from the mail system (or an empty Return-Path) with a report's subject, text or fields, or
    carrying the returned message; Exim's X-Failed-Recipients; a report forwarded by hand."""
    content_type = msg.headers.get("content-type", "").lower()
    if "multipart/report" in content_type:
        return "multipart/report"
    if "x-failed-recipients" in msg.headers:
        return "X-Failed-Recipients (a mail system's report)"
    local = signals.local_part(msg)
    from_system = local in signals.SYSTEM_LOCALPARTS or msg.sender is None
    null_sender = msg.headers.get("return-path", "").strip() == "<>"
    text = msg.text[:_NOTICE_WINDOW]
    if from_system or null_sender:
        if signals.BOUNCE_SUBJECT.search(msg.subject):
            return "delivery failure notice from the mail system"
        if signals.DSN_FIELDS.search(text) or signals.FAILURE_TEXT.search(text.lower()):
            return "delivery report from the mail system (its text)"
        if signals.returns_a_message(msg) and not signals.FILTER_SUBJECT_WEAK.search(msg.subject):
            return "the mail system returned a message"
    if signals.BOUNCE_SUBJECT.search(msg.subject) and (
        signals.returns_a_message(msg) or len(signals.DSN_FIELDS.findall(text)) >= 2
    ):
        return "a delivery or complaint report (subject, and the returned message)"
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


def is_challenge_response(msg: ParsedMessage, ctx: Context) -> str | None:
    """ "Please verify you are a human" robots (Boxbe, TMDA, SpamArrest, ChoiceMail…): answering
    them would confirm the address to a spammer who forged it, or start a loop."""
    header = signals.challenge_header(msg.headers)
    if header is not None:
        return f"challenge-response robot ({header})"
    text = msg.text[:_NOTICE_WINDOW].lower()
    if signals.CHALLENGE_SUBJECT.search(msg.subject) and signals.CHALLENGE_TEXT.search(text):
        return "challenge-response request (subject and text)"
    return None


def is_filter_notice(msg: ParsedMessage, ctx: Context) -> str | None:
    """A virus scanner's or content filter's notice ("VIRUS (…) IN MAIL FROM YOU")."""
    if signals.FILTER_SUBJECT.search(msg.subject):
        return f"virus or content-filter notice: {msg.subject[:60]!r}"
    if signals.local_part(msg) in signals.FILTER_LOCALPARTS:
        return "sender is a virus scanner or content filter"
    return None


def is_machine_sender(msg: ParsedMessage, ctx: Context) -> str | None:
    local = signals.local_part(msg)
    if local in _MACHINE_LOCALPARTS or local in signals.SYSTEM_LOCALPARTS:
        return "sender is a mail system address"
    if local.endswith(_LIST_SOFTWARE_SUFFIXES):
        return "sender is mailing-list software"
    if msg.sender is not None and _ROBOTS.match(msg.sender.email):
        return "sender is an institutional robot (e.g. the SdI)"
    if msg.headers.get("return-path", "").strip() == "<>":
        return "empty Return-Path"
    return None


REPORT_SIGNS = frozenset({"a report's subject", "a report's wording", "delivery-report fields"})


def machine_signs(msg: ParsedMessage) -> list[str]:
    """The weak signs of machine mail this message shows, each of which a person's mail may
    show too (a robot's local part, a notice's subject or wording, a returned message…).
    Cheap first; the wording scans stop once `WEAK_SIGNS_NEEDED` is out of reach."""
    text = msg.text[:_NOTICE_WINDOW]
    lowered = text.lower()
    subject = msg.subject
    checks: tuple[tuple[str, Callable[[], object]], ...] = (
        ("robot-like sender", lambda: signals.ROBOT_LOCALPART.search(signals.local_part(msg))),
        ("X-Auto-Response-Suppress", lambda: "x-auto-response-suppress" in msg.headers),
        ("a returned message attached", lambda: signals.returns_a_message(msg)),
        ("a report's subject", lambda: signals.BOUNCE_SUBJECT.search(subject)),
        ("a notice's subject", lambda: signals.notice_subject(subject)),
        ("delivery-report fields", lambda: signals.DSN_FIELDS.search(text)),
        ("says it is automatic", lambda: signals.AUTOMATIC_TEXT.search(lowered)),
        ("a report's wording", lambda: signals.FAILURE_TEXT.search(lowered)),
        (
            "a notice's wording",
            lambda: signals.FILTER_TEXT.search(lowered) or signals.CHALLENGE_TEXT.search(lowered),
        ),
    )
    found: list[str] = []
    for done, (label, present) in enumerate(checks):
        if len(found) + len(checks) - done < WEAK_SIGNS_NEEDED:
            break  # not enough checks left to make a machine of it
        if present():
            found.append(label)
    return found


def machine_like(msg: ParsedMessage) -> Verdict | None:
    """Several weak signs agree: prefer "not a citizen" (a confirmation to a robot is
    backscatter; the message stays in the ledger for anyone who looks). When they speak of a
    delivery it is a report in a layout nobody standardised, linked like any report. The last
    machine rule, and the only one whose kind depends on what it found: the signs are read
    once."""
    found = machine_signs(msg)
    if len(found) < WEAK_SIGNS_NEEDED:
        return None
    if REPORT_SIGNS & set(found):
        return Verdict(Kind.BOUNCE, "signs of a delivery report: " + ", ".join(found))
    return Verdict(Kind.AUTO_GENERATED, "signs of machine mail: " + ", ".join(found))


Predicate = Callable[[ParsedMessage, Context], "str | None"]
RULES: tuple[tuple[Kind, Predicate], ...] = (
    (Kind.OWN_MAIL, is_own_mail),
    (Kind.BOUNCE, is_delivery_report),  # before auto-replies: bounces often say auto-replied
    (Kind.AUTO_GENERATED, is_auto_submitted),
    (Kind.AUTO_GENERATED, is_bulk),
    (Kind.AUTO_GENERATED, is_out_of_office),
    (Kind.AUTO_GENERATED, notices.is_domino_absence),  # Notes' "AUTO: … is out of the office"
    (Kind.AUTO_GENERATED, notices.is_moderation_notice),  # "awaits moderator approval"
    (Kind.AUTO_GENERATED, is_challenge_response),
    (Kind.AUTO_GENERATED, is_filter_notice),
    (Kind.AUTO_GENERATED, is_machine_sender),
)  # then machine_like: weak signs, only when nothing else said what the message is


def is_operator_reply(msg: ParsedMessage, thread: Thread) -> str | None:
    if thread.forged:
        return None  # an operator's address on a forged message is just another sender
    if msg.sender is not None and msg.sender.email in thread.operators and thread.to_operators:
        return f"operator of the office, answering by {thread.via} reference"
    return None


def is_staff_mail(msg: ParsedMessage, thread: Thread) -> str | None:
    """The institution's side writing on a case's thread is never the citizen: a member of
    the staff (a Dirigente, the URP, a colleague, a desk) however they threaded, or anyone
    answering a message of ours the citizen never received (a forwarded notification). The
    case's own contact is its citizen, whoever else they are; a forged From is nobody."""
    if thread.forged or msg.sender is None or msg.sender.email == thread.contact:
        return None
    if msg.sender.email in thread.staff or msg.sender.email in thread.operators:
        return f"staff member writing on the case (by {thread.via} reference)"
    if thread.to_staff:
        return "answers a message only the institution received"
    return None


def is_citizen_followup(msg: ParsedMessage, thread: Thread) -> str | None:
    if thread.via == "reminder":  # no reference at all (cases/unthreaded.py): the contact's own
        if msg.sender is not None and msg.sender.email == thread.contact and not thread.forged:
            return "a reminder from the case's contact (its subject or number)"
        return None
    if thread.via == "subject":
        if msg.sender is not None and msg.sender.email == thread.contact:
            return "subject tag, from the case's contact"
        return None  # a stranger's subject tag never attaches to someone else's case
    return f"follow-up by {thread.via} reference"


CONVERSATION_RULES: tuple[tuple[Kind, Callable[[ParsedMessage, Thread], str | None]], ...] = (
    (Kind.OPERATOR_REPLY, is_operator_reply),
    (Kind.STAFF_MAIL, is_staff_mail),
    (Kind.CITIZEN_FOLLOWUP, is_citizen_followup),
)


def classify(msg: ParsedMessage, ctx: Context, thread: Thread | None = None) -> Verdict:
    for kind, predicate in RULES:
        reason = predicate(msg, ctx)
        if reason is not None:
            return Verdict(kind, reason)
    weak = machine_like(msg)
    if weak is not None:
        return weak
    if thread is not None:
        for kind, conversation_rule in CONVERSATION_RULES:
            reason = conversation_rule(msg, thread)
            if reason is not None:
                return Verdict(kind, reason)
    return Verdict(Kind.CITIZEN, "mail from a person")
