"""SQLModel tables: the inbound ledger, mailbox cursors, registry, contacts, work orders,
conversation messages, the outbox and the append-only event log.

Times are stored as naive UTC (portable across SQLite and PostgreSQL) and come back as aware
UTC datetimes through `UTCDateTime`. No SQLite-only SQL anywhere: PostgreSQL is the scale-out path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class MailboxCursor(SQLModel, table=True):
    __tablename__ = "mailbox_cursor"

    mailbox: str = Field(primary_key=True, max_length=64)
    uidvalidity: int = Field(sa_type=sa.BigInteger)
    last_uid: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _when(default_factory=utcnow)


class MailboxLease(SQLModel, table=True):
    """Which `mailbot run` instance watches a mailbox, until when (see mailbot/leases.py)."""

    __tablename__ = "mailbox_lease"

    mailbox: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    acquired_at: datetime = _when()
    expires_at: datetime = _when()


class MailbotInstance(SQLModel, table=True):
    """A running `mailbot run`, seen alive at `seen_at`: how many share the mailboxes."""

    __tablename__ = "mailbot_instance"

    holder: str = Field(primary_key=True, max_length=200)
    started_at: datetime = _when()
    seen_at: datetime = _when()


class InboundMessage(SQLModel, table=True):
    """The ledger: one row per message ever seen, written before anything acts on it."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_imap_uid"),
        sa.UniqueConstraint("mailbox", "source_ref", name="uq_inbound_source_ref"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=64, index=True)
    uidvalidity: int | None = Field(default=None, sa_type=sa.BigInteger)
    uid: int | None = Field(default=None, sa_type=sa.BigInteger)
    source_ref: str | None = Field(default=None, max_length=255)
    # Message-ID, or "sha256:<hash>" when it has none: a mail is processed once, whatever box.
    message_key: str = Field(max_length=998, unique=True)
    message_id: str | None = Field(default=None, max_length=998)
    sender: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    subject: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    raw_sha256: str = Field(max_length=64)
    raw_size: int
    received_at: datetime = _when()
    status: str = Field(max_length=20, index=True)
    kind: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    error_digest: str | None = Field(default=None, max_length=16)
    error_detail: str | None = Field(default=None, sa_type=sa.Text)
    spam_score: float | None = Field(default=None)  # the filter's score, when held as spam
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    created_at: datetime = _when(default_factory=utcnow)


class Taxpayer(SQLModel, table=True):
    """A person (codice fiscale) or a company (partita IVA) of the registry."""

    __tablename__ = "taxpayer"

    id: int | None = Field(default=None, primary_key=True)
    codice_fiscale: str = Field(max_length=16, unique=True)  # or the partita IVA
    name: str = Field(max_length=255)
    postal_address: str = Field(
        default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""}
    )
    # What the last import said (name, addresses, postal address): "unchanged" without a join.
    digest: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    # Pruned (absent from a full export): kept for the cases that name it, never matched.
    removed_at: datetime | None = _when(default=None)
    created_at: datetime = _when(default_factory=utcnow)
    updated_at: datetime = _when(default_factory=utcnow)


class TaxpayerToken(SQLModel, table=True):
    """One normalised word of a taxpayer's name: finds similar names without a table scan.
    Removed by primary key (the words of the name being replaced), so no index by taxpayer."""

    __tablename__ = "taxpayer_token"

    token: str = Field(primary_key=True, max_length=64)
    taxpayer_id: int = Field(primary_key=True, foreign_key="taxpayer.id")


class TaxpayerAddress(SQLModel, table=True):
    __tablename__ = "taxpayer_address"
    __table_args__ = (sa.UniqueConstraint("taxpayer_id", "address", name="uq_taxpayer_address"),)

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: uq_taxpayer_address (taxpayer_id, address) serves look-ups by it.
    taxpayer_id: int = Field(foreign_key="taxpayer.id")
    address: str = Field(max_length=320, index=True)  # normalised
    kind: str = Field(max_length=8)  # "email" | "pec"


class Contact(SQLModel, table=True):
    """Someone who writes to us, by address; linked to a taxpayer when matching says so."""

    __tablename__ = "contact"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    name: str = Field(default="", max_length=255)
    taxpayer_id: int | None = Field(default=None, foreign_key="taxpayer.id", index=True)
    # Has written by PEC with a valid provider signature: the address is certified.
    pec_verified: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    phone: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    created_at: datetime = _when(default_factory=utcnow)


class WorkOrderCounter(SQLModel, table=True):
    """Last number given per year: numbers are sequential and never reused."""

    __tablename__ = "work_order_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = Field(default=0)


class WorkOrder(SQLModel, table=True):
    """A case ("pratica")."""

    __tablename__ = "work_order"
    __table_args__ = (sa.UniqueConstraint("reply_token", name="uq_work_order_reply_token"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True)
    status: str = Field(max_length=16, index=True)
    office: str = Field(max_length=64, index=True)
    mailbox: str = Field(max_length=64)
    subject: str = Field(default="", sa_type=sa.Text)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    match_rule: str = Field(max_length=32)
    match_confidence: float
    # Who the case is about, as matching (or an operator) said; `match_state` says how sure:
    # linked, unverified, to_confirm, suggested, ambiguous, generic, confirmed.
    taxpayer_id: int | None = Field(default=None, foreign_key="taxpayer.id", index=True)
    match_state: str = Field(
        default="generic", max_length=16, sa_column_kwargs={"server_default": "generic"}
    )
    match_candidates: str = Field(
        default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""}
    )  # codes, comma-separated
    # The sender's address is authentic (PEC-verified, DMARC/DKIM/SPF, or a trusted mailbox).
    contact_verified: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    language: str = Field(default="it", max_length=8)
    received_at: datetime = _when()
    opened_at: datetime = _when(default_factory=utcnow)
    due_at: datetime = _when(index=True)
    # Token for plus-addressed Reply-To (suggerimenti+<token>@…), secret enough not to guess.
    reply_token: str = Field(max_length=32)
    reasoned_reply_at: datetime | None = _when(default=None)  # first reply relayed to the citizen
    suspended_at: datetime | None = _when(default=None)
    closed_at: datetime | None = _when(default=None)
    # The closed case that a late follow-up continues.
    parent_id: int | None = Field(default=None, foreign_key="work_order.id")
    # The service charter: category, the term that applies (days, working or calendar), the
    # days an extension added, the pauses while waiting for the citizen (JSON, see charter.py),
    # and the refund owed when the reasoned reply came late.
    category: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    term_days: int = Field(default=30, sa_column_kwargs={"server_default": "30"})
    term_working: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    extension_days: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    pauses: str = Field(default="[]", sa_type=sa.Text, sa_column_kwargs={"server_default": "[]"})
    refund_eur: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    protocollo: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    satisfaction: int | None = Field(default=None)  # 1-5, the citizen's answer on closing
    # `mailbot purge` removed its texts, originals and contact details; figures stay.
    purged_at: datetime | None = _when(default=None)
    # Why mailbot writes nothing automatic to this sender (its From domain's DMARC policy says
    # the mail was not theirs): shown to the office, which judges the case.
    sender_alert: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    # What the charter's register records of it: the kind of submission, the channel it came
    # by, the outcome the office found, and the solution with the date it is promised by.
    kind: str = Field(
        default="reclamo", max_length=32, sa_column_kwargs={"server_default": "reclamo"}
    )
    channel: str = Field(
        default="email", max_length=16, sa_column_kwargs={"server_default": "email"}
    )
    outcome: str | None = Field(default=None, max_length=16)  # fondato, infondato, parziale
    solution: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    solution_due: date | None = Field(default=None)


class CorrectiveAction(SQLModel, table=True):
    """A corrective action a case led to (`#azione`), and its check (UNI 10600's monitoring)."""

    __tablename__ = "corrective_action"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    text: str = Field(sa_type=sa.Text)
    created_by: str = Field(max_length=320)
    created_at: datetime = _when(default_factory=utcnow)
    verified_at: datetime | None = _when(default=None)
    verified_by: str = Field(default="", max_length=320)
    verification: str = Field(default="", sa_type=sa.Text)


class DigestSent(SQLModel, table=True):
    """One row per office and local day a reminder digest went out: never two a day, whatever
    restarts or how many instances run (the primary key says so)."""

    __tablename__ = "digest_sent"

    office: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)  # local date, YYYY-MM-DD
    sent_at: datetime = _when(default_factory=utcnow)
    cases: int = Field(default=0)


class ConversationMessage(SQLModel, table=True):
    """One message of a case's conversation, either way; the raw original stays in storage."""

    __tablename__ = "conversation_message"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    direction: str = Field(max_length=3)  # "in" | "out"
    kind: str = Field(max_length=32)  # citizen, confirmation, …
    from_address: str = Field(max_length=320)
    to_addresses: str = Field(sa_type=sa.Text)  # comma-separated
    date: datetime = _when()
    subject: str = Field(default="", sa_type=sa.Text)
    body_text: str = Field(default="", sa_type=sa.Text)
    body_html: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    author: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    message_id: str | None = Field(default=None, max_length=998, index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    outbound_id: int | None = Field(default=None, foreign_key="outbound_message.id")


class StoredAttachment(SQLModel, table=True):
    """An attachment of a conversation message; bytes live content-addressed in storage."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="conversation_message.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)


class OutboundMessage(SQLModel, table=True):
    """The outbox: decided in the message's transaction, sent later by the sender loop."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        sa.Index("ix_outbound_due", "status", "next_attempt_at"),
        # the loop brake counts recent automatic mail per recipient for every message sent
        sa.Index("ix_outbound_recipient", "recipients", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    kind: str = Field(max_length=32)
    message_id: str = Field(max_length=998, unique=True)
    envelope_from: str = Field(max_length=320)
    recipients: str = Field(sa_type=sa.Text)  # comma-separated envelope recipients
    raw: bytes = Field(sa_type=sa.LargeBinary)
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _when(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _when(default_factory=utcnow)
    sent_at: datetime | None = _when(default=None)
    bounce: str | None = Field(default=None, max_length=8)  # "hard" | "soft", from a report
    bounce_detail: str | None = Field(default=None, sa_type=sa.Text)
    failure_reported: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # The outbound account: "" for [smtp], else the name of the mailbox whose account sends it.
    account: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    # Sent by PEC: queued | sent | accepted | not_accepted | delivered | failed (else None),
    # and the identificativo the provider gave it (the Message-ID the recipient sees).
    pec_state: str | None = Field(default=None, max_length=16)
    pec_provider_id: str | None = Field(default=None, max_length=255, index=True)


class PecReceipt(SQLModel, table=True):
    """A provider's receipt or notice about one of our PEC messages; the signed original stays
    in storage (the legal proof of sending and delivery)."""

    __tablename__ = "pec_receipt"

    id: int | None = Field(default=None, primary_key=True)
    outbound_id: int = Field(foreign_key="outbound_message.id", index=True)
    inbound_id: int = Field(foreign_key="inbound_message.id")
    type: str = Field(max_length=32)  # accettazione, avvenuta-consegna, errore-consegna, …
    date: datetime | None = _when(default=None)  # the certified time (daticert data)
    recipient: str = Field(default="", max_length=320)  # daticert consegna, when per recipient
    error: str = Field(default="", sa_type=sa.Text)  # errore / errore-esteso
    signature: str = Field(default="", max_length=16)  # valid | invalid | unchecked


class Event(SQLModel, table=True):
    """Append-only audit trail: who did what to which case, when."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(default_factory=utcnow, index=True)
    kind: str = Field(max_length=48)
    actor: str = Field(default="mailbot", max_length=320)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    data: str = Field(default="{}", sa_type=sa.Text)  # JSON
