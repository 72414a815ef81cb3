"""What kind of mail is this? One small named predicate per reason, checked in order.

This first cut tells a citizen's mail from our own mail coming back and from machine mail
(auto-replies, bounces, lists) that must never get an automatic answer: answering machines
with machines is how mail loops start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.types import Kind, ParsedMessage

LOOP_HEADER = "x-mailbot-loop"
_MACHINE_LOCALPARTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply")


@dataclass(frozen=True)
class Context:
    own_addresses: frozenset[str]


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
    return None


def is_machine_sender(msg: ParsedMessage, ctx: Context) -> str | None:
    if msg.sender is not None and msg.sender.email.split("@")[0] in _MACHINE_LOCALPARTS:
        return "sender is a mail system address"
    if msg.headers.get("return-path", "").strip() == "<>":
        return "empty Return-Path"
    return None


Predicate = Callable[[ParsedMessage, Context], "str | None"]
RULES: tuple[tuple[Kind, Predicate], ...] = (
    (Kind.OWN_MAIL, is_own_mail),
    (Kind.AUTO_GENERATED, is_auto_submitted),
    (Kind.AUTO_GENERATED, is_bulk),
    (Kind.AUTO_GENERATED, is_machine_sender),
)


def classify(msg: ParsedMessage, ctx: Context) -> Verdict:
    for kind, predicate in RULES:
        reason = predicate(msg, ctx)
        if reason is not None:
            return Verdict(kind, reason)
    return Verdict(Kind.CITIZEN, "mail from a person")
