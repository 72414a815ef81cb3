"""Complaints that do not come by mail: at the counter (sportello), by post, by fax, by phone
(the operator's minutes, "verbale") or through the online desk. Each is written as a message of
its own, kept in the store as the case's original (with the scanned letter attached, byte for
byte), and filed through `pipeline.process_inbound` like any mail: one numbering, one register,
the confirmation sent when there is an address.

The channel travels in the Origin, never in a header a sender could forge. A web submission
is screened for spam like mail (rspamd, when configured, reads the message written for it; a
spam verdict holds it with the held mail: no case, no confirmation); what an operator took
down at the counter, by post, fax or phone is not. A citizen with no email address gets a contact at
`NO_ADDRESS_DOMAIN`, a reserved domain (RFC 2606) nothing is ever delivered to: no confirmation
is queued for it; the phone number given is kept on the contact and the postal address on the
case, both shown to the office, and the office's reply becomes a letter to print and post
(cases/letters.py).
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlmodel import Session, col, select

from mailbot import pipeline
from mailbot.cases import desk, staff
from mailbot.config import CHANNELS, SUBMISSION_KINDS
from mailbot.db import record_event, unit_of_work
from mailbot.errors import InputError
from mailbot.ingest.ledger import CHANNEL_REF
from mailbot.models import InboundMessage, WorkOrder, utcnow
from mailbot.services import Services
from mailbot.types import NO_ADDRESS_DOMAIN, Origin, Outcome, looks_like_address

_KEY = re.compile(r"[0-9a-f]{16,64}")
OTHER_CHANNELS = tuple(c for c in CHANNELS if c not in ("email", "pec"))


@dataclass(frozen=True)
class Submission:
    """What an operator (or the web form) took down."""

    channel: str
    subject: str
    text: str
    name: str = ""
    email: str = ""
    phone: str = ""
    postal_address: str = ""  # where a letter reaches a citizen with no email address
    received_at: datetime | None = None  # when it was presented; default now
    attachments: Sequence[tuple[str, bytes]] = ()  # (file name, bytes): the scanned letter…
    mailbox: str = ""  # whose cases these are; default the first mailbox
    # The door's own key (hex): its Message-ID, so a submission whose key was filed before is
    # not filed again (the ledger is unique per Message-ID): the web form's submission id, or
    # its solved challenge. Default a new one.
    key: str = ""
    # The desk (sportello) typing it in: the case is the desk's, which remains the citizen's
    # interface. Default: the desk of the operator, when a desk member enters it.
    desk: str = ""
    kind: str = ""  # the kind of request (SUBMISSION_KINDS); default: the mailbox's


def message_of(submission: Submission, mailbox_address: str, key: str) -> bytes:
    """The submission as an RFC 5322 message: what the pipeline, the store and the case file
    read, like any original."""
    address = submission.email or f"{submission.channel}-{key}@{NO_ADDRESS_DOMAIN}"
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((submission.name, address))
    msg["To"] = mailbox_address
    msg["Subject"] = submission.subject
    msg["Date"] = format_datetime(submission.received_at or utcnow())
    msg["Message-ID"] = message_id_of(submission.channel, key)
    msg.set_content(submission.text)
    for name, payload in submission.attachments:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        msg.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def message_id_of(channel: str, key: str) -> str:
    return f"<{channel}-{key}@{NO_ADDRESS_DOMAIN}>"


def filed_case(services: Services, channel: str, key: str) -> str | None:
    """The number of the case the submission `key` opened, if it opened one: the same form
    posted again is answered with it."""
    message_id = message_id_of(channel, key)
    with unit_of_work(services.engine) as session:
        return session.exec(
            select(WorkOrder.number)
            .join(InboundMessage, col(InboundMessage.work_order_id) == WorkOrder.id)
            .where(InboundMessage.message_id == message_id)
        ).first()


def file_submission(services: Services, submission: Submission, actor: str) -> Outcome:
    """Open the case, through the pipeline; `actor` (an operator, or "web") is recorded."""
    if submission.channel not in OTHER_CHANNELS:
        raise InputError(f"--channel: one of {', '.join(OTHER_CHANNELS)}")
    if not submission.text.strip():
        raise InputError("the text of the complaint is empty")
    if submission.kind and submission.kind not in SUBMISSION_KINDS:
        raise InputError(f"--kind: one of {', '.join(SUBMISSION_KINDS)}")
    if submission.email and not looks_like_address(submission.email):
        raise InputError(f"--email {submission.email!r} is not an email address")
    settings = services.settings
    names = [m.name for m in settings.mailboxes]
    if submission.mailbox and submission.mailbox not in names:
        raise InputError(
            f"--mailbox: no mailbox {submission.mailbox!r} (known: {', '.join(names)})"
        )
    with unit_of_work(services.engine) as session:
        directory = staff.directory(services, session)
    desk_id = desk.desk_of_entry(settings, directory, actor.strip().lower(), submission.desk)
    # A desk's case goes to the desk's own mailbox when it has one (its replies come back there).
    own = [m.name for m in settings.mailboxes if desk_id and m.desk == desk_id]
    mailbox = settings.mailbox(submission.mailbox or (own or names)[0])
    if submission.key and not _KEY.fullmatch(submission.key):
        raise InputError(f"the submission's key {submission.key!r} is not 16-64 hex digits")
    key = submission.key or secrets.token_hex(8)
    raw = message_of(submission, mailbox.address, key)
    origin = Origin(
        mailbox=mailbox.name,
        received_at=submission.received_at or utcnow(),
        source_ref=f"{CHANNEL_REF}{submission.channel}:{key}",
        channel=submission.channel,
        phone=submission.phone.strip(),
        postal_address=" ".join(submission.postal_address.split()),
        desk=desk_id,
        kind=submission.kind,
    )
    outcome = pipeline.process_inbound(services, raw, origin)
    with unit_of_work(services.engine) as session:
        _after(session, outcome, submission, actor, desk_id)
    return outcome


def _after(
    session: Session, outcome: Outcome, submission: Submission, actor: str, desk_id: str
) -> None:
    entry = session.get(InboundMessage, outcome.inbound_id) if outcome.inbound_id else None
    if entry is None or entry.work_order_id is None:
        return
    work_order = session.get(WorkOrder, entry.work_order_id)
    assert work_order is not None
    work_order.desk = work_order.desk or desk_id  # also when filed again (retry drops the desk)
    record_event(
        session,
        "work_order.entered",
        work_order_id=work_order.id,
        actor=actor,
        channel=submission.channel,
        files=[name for name, _ in submission.attachments],
        desk=desk_id,
    )


def read_attachments(paths: Sequence[Path]) -> list[tuple[str, bytes]]:
    files = []
    for path in paths:
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise InputError(f"--attach {path}: {exc.strerror}") from None
    return files
