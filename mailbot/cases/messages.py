"""What every flow of a case writes: the inbound message into the conversation (with its
event and stored attachments), and outbound mail into the outbox and the conversation, with
the rate limit on automatic mail and the brake on forged senders; the case's thread ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from mailbot.cases import conversation_log, staff, wording
from mailbot.config import LimitSettings, MailboxSettings
from mailbot.db import record_event
from mailbot.errors import MailError
from mailbot.ingest import classify
from mailbot.ingest.limits import cap_filename
from mailbot.log import mask_text
from mailbot.matching import matcher, registry
from mailbot.models import Contact, InboundMessage, Taxpayer, WorkOrder, utcnow
from mailbot.replies import outbox, recipients, threading
from mailbot.replies.render import Composed
from mailbot.replies.threading import plus_address
from mailbot.roles import Directory
from mailbot.services import Services
from mailbot.types import Address, Attachment, Origin, ParsedMessage, deliverable

CITIZEN_SIDE = (
    "citizen", "citizen_followup", "satisfaction", "confirmation", "relay", "extension", "closing",
)  # fmt: skip


AUTOMATIC = frozenset({"confirmation", "notice"})  # written by mailbot, not by a person


OFFICE_SIDE = ("notification", "forward")


@dataclass(frozen=True)
class Incoming:
    """One inbound message as the flows need it."""

    entry: InboundMessage
    parsed: ParsedMessage
    origin: Origin

    @property
    def oversized(self) -> bool:
        """Only the head was parsed (the source streamed the whole message into the store)."""
        return self.origin.stored_sha256 is not None

    @property
    def sender(self) -> Address:
        if self.parsed.sender is None:
            raise MailError("no usable sender address in From")
        return self.parsed.sender


def store_attachments(
    services: Services, attachments: Sequence[Attachment]
) -> list[conversation_log.NewAttachment]:
    return [
        conversation_log.NewAttachment(
            cap_filename(a.filename),
            a.content_type,
            len(a.payload),
            services.store.put(a.payload),
        )
        for a in attachments
    ]


def record_inbound(
    services: Services, session: Session, work_order: WorkOrder, mail: Incoming, kind: str
) -> None:
    record_event(
        session,
        f"message.{kind}",
        work_order_id=work_order.id,
        inbound_id=mail.entry.id,
        actor=mail.sender.email,
        message_id=mail.parsed.message_id,
    )
    conversation_log.add_message(
        session,
        work_order,
        direction="in",
        kind=kind,
        from_address=mail.sender.email,
        author=mail.sender.email,
        to=[a.email for a in mail.parsed.to],
        date=mail.origin.received_at,
        subject=mail.parsed.subject,
        body_text=mail.parsed.text,
        body_html=mail.parsed.html,
        message_id=mail.parsed.message_id,
        inbound_id=mail.entry.id,
        attachments=store_attachments(services, mail.parsed.attachments),
    )


def queue(
    session: Session,
    work_order: WorkOrder,
    kind: str,
    composed: Composed,
    *,
    limits: LimitSettings | None = None,
    internal: frozenset[str] = frozenset(),
    route: MailboxSettings | None = None,
    not_before: datetime | None = None,
    opened: bool = False,
) -> int | None:
    """Write to the outbox and the conversation; automatic mail to outside recipients over the
    rate limit is recorded as suppressed instead of sent. `route`: the case's mailbox, for mail
    to the citizen: it leaves through the mailbox's own account when it has one (a PEC box's).
    `not_before`: held until then. `opened`: the case was opened in this transaction, so it has
    no mail yet to count against its own limit. The outbox row's id; None when suppressed."""
    # A sender that very likely is not who the From says gets nothing mailbot writes on its
    # own; what an operator writes goes out (the office has judged).
    reason = work_order.sender_alert if route is not None and kind != "relay" else ""
    if route is not None and not deliverable(composed.recipients[0]):
        reason = f"no email address: the citizen came by {work_order.channel}"
    if not reason and limits is not None and kind in AUTOMATIC:
        reason = _over_limit(session, work_order, composed, limits, internal, opened=opened) or ""
    if reason:
        record_event(
            session,
            "message.suppressed",
            work_order_id=work_order.id,
            message_kind=kind,
            to=list(composed.recipients),
            reason=reason,
        )
        return None
    record_event(
        session,
        f"message.{kind}",
        work_order_id=work_order.id,
        to=list(composed.recipients),
        message_id=composed.message_id,
    )
    queued = outbox.enqueue(
        session,
        composed,
        kind=kind,
        work_order_id=work_order.id,
        account=route.name if route is not None and route.smtp is not None else "",
        pec=route is not None and route.smtp is not None and route.pec,
        not_before=not_before,
    )
    conversation_log.add_message(
        session,
        work_order,
        direction="out",
        kind=kind,
        from_address=composed.sender,
        to=list(composed.recipients),
        date=queued.created_at,
        subject=composed.subject,
        body_text=composed.text,
        message_id=composed.message_id,
        outbound_id=queued.id,
    )
    return queued.id


def office_reply_to(services: Services, work_order: WorkOrder) -> str:
    mailbox: MailboxSettings = services.settings.mailbox(work_order.mailbox)
    return (
        plus_address(mailbox.address, work_order.reply_token)
        if mailbox.plus_address
        else mailbox.address
    )


def thread_ids(session: Session, work_order: WorkOrder, kinds: Sequence[str]) -> tuple[str, ...]:
    assert work_order.id is not None
    return conversation_log.message_ids(session, work_order.id, kinds)


def contact_values(session: Session, work_order: WorkOrder) -> dict[str, object]:
    """What the office's messages say of the citizen and the case, in the case's language: a
    citizen with no e-mail address (counter, post, phone) is shown by name, phone and how the
    reply reaches them, never by the placeholder address; similar names by name, codes masked."""
    card = registry.contact_card(session, work_order.contact_id, work_order.taxpayer_id)
    language = work_order.language
    reachable = deliverable(card.email)
    codes = [c for c in work_order.match_candidates.split(",") if c]
    return {
        "contact_name": card.name or (card.email if reachable else ""),
        "contact_email": card.email,
        "contact_reachable": reachable,
        "contact_phone": card.phone,
        "postal_address": work_order.postal_address,
        "channel_text": wording.label("channel", work_order.channel, language),
        "codice_fiscale": card.codice_fiscale,
        "registry_name": card.registry_name,
        "match_rule": work_order.match_rule,
        "match_rule_text": wording.label("match_rule", work_order.match_rule, language),
        "match_state": work_order.match_state,
        "candidates": codes,
        "candidate_names": _candidate_names(session, codes),
        "subject": work_order.subject,
        "due_at": work_order.due_at,
        "term_passed": work_order.due_at <= utcnow(),  # a case entered after its term
        "status_text": wording.label("status", work_order.status, language),
        "sender_alert": work_order.sender_alert,
    }


def _candidate_names(session: Session, codes: Sequence[str]) -> list[str]:
    """Whom the office may mean, "Mario Rossi (RSS**********12A)": no full code in a mail."""
    if not codes:  # most cases: no query
        return []
    names = {
        t.codice_fiscale: t.name
        for t in session.exec(select(Taxpayer).where(col(Taxpayer.codice_fiscale).in_(codes)))
    }
    return [f"{names[c]} ({mask_text(c)})" if names.get(c) else mask_text(c) for c in codes]


def speakers_for(services: Services, people: Directory, office_id: str) -> frozenset[str]:
    """Who speaks for an office by mail: its address, its operators and responsible."""
    office = services.settings.office(office_id)
    return frozenset(
        {office.email} | {a for m in people.members if m.speaks_for(office_id) for a in m.addresses}
    )


def internal_addresses(services: Services) -> frozenset[str]:
    """The institution's own addresses: offices, desks, mailboxes and the configured staff
    (never rate-limited as an outside recipient)."""
    settings = services.settings
    offices = settings.offices.values()
    return frozenset(
        {o.email for o in offices}
        | {op for o in offices for op in o.operators}
        | {d.email for d in settings.desks.values()}
        | {m.address for m in settings.mailboxes}
        | settings.directory.addresses()
    )


def _over_limit(
    session: Session,
    work_order: WorkOrder,
    composed: Composed,
    limits: LimitSettings,
    internal: frozenset[str],
    *,
    opened: bool = False,
) -> str | None:
    since = utcnow() - timedelta(minutes=limits.window_minutes)
    for recipient in composed.recipients:
        domain = "@" + recipient.rsplit("@", 1)[-1]
        if recipient in internal or recipient in limits.allow or domain in limits.allow:
            continue
        # However the address is spelled (victim+1@, V.ictim@gmail): one mailbox, one count.
        if recipients.count_to(session, since, recipient, AUTOMATIC) >= limits.per_recipient:
            window = limits.window_minutes
            return f"{limits.per_recipient} automatic messages to {recipient} in {window} min"
        if (
            not opened  # nothing on it yet, and the limit is 1 at least
            and outbox.count_since(session, since, work_order_id=work_order.id, kinds=AUTOMATIC)
            >= limits.per_case
        ):
            return (
                f"{limits.per_case} automatic messages on this case in {limits.window_minutes} min"
            )
    return None


def thread_of(
    services: Services,
    session: Session,
    ref: threading.ThreadRef | None,
    work_order: WorkOrder | None,
    parsed: ParsedMessage,
) -> classify.Thread | None:
    """What the classifier needs to know of the case a message threads into: who its contact
    is, who speaks for its office, who is staff, how it was threaded, and a forged-sender
    verdict."""
    if ref is None or work_order is None:
        return None
    trusted = services.settings.matching.trusted_authserv_ids
    people = staff.directory(services, session)
    contact = session.get(Contact, work_order.contact_id)
    return classify.Thread(
        via=ref.via,
        to_operators=ref.to_operators,
        operators=speakers_for(services, people, work_order.office),
        contact=contact.email if contact else "",
        staff=people.addresses() | internal_addresses(services),
        to_staff=ref.to_operators or ref.code in threading.STAFF_KINDS,
        forged=matcher.authentication_failure(parsed, trusted) or "",
    )
