"""The tables of mail in and out: mailbox cursors and leases, running instances, the inbound
ledger, the outbox, PEC receipts and the daily digests sent.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mailbot.models.columns import utc_column, utcnow


class MailboxCursor(SQLModel, table=True):
    __tablename__ = "mailbox_cursor"

    mailbox: str = Field(primary_key=True, max_length=64)
    uidvalidity: int = Field(sa_type=sa.BigInteger)
    last_uid: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = utc_column(default_factory=utcnow)


class MailboxLease(SQLModel, table=True):
    """Which `mailbot run` instance watches a mailbox, until when (runtime/leases.py)."""

    __tablename__ = "mailbox_lease"

    mailbox: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    acquired_at: datetime = utc_column()
    expires_at: datetime = utc_column()


class MailbotInstance(SQLModel, table=True):
    """A running `mailbot run`, seen alive at `seen_at`: how many share the mailboxes."""

    __tablename__ = "mailbot_instance"

    holder: str = Field(primary_key=True, max_length=200)
    started_at: datetime = utc_column()
    seen_at: datetime = utc_column()


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
    received_at: datetime = utc_column()
    status: str = Field(max_length=20, index=True)
    kind: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    error_digest: str | None = Field(default=None, max_length=16)
    error_detail: str | None = Field(default=None, sa_type=sa.Text)
    spam_score: float | None = Field(default=None)  # the filter's score, when held as spam
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    created_at: datetime = utc_column(default_factory=utcnow)


class DigestSent(SQLModel, table=True):
    """One row per office and local day a reminder digest went out: never two a day, whatever
    restarts or how many instances run (the primary key says so)."""

    __tablename__ = "digest_sent"

    office: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)  # local date, YYYY-MM-DD
    sent_at: datetime = utc_column(default_factory=utcnow)
    cases: int = Field(default=0)


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
    next_attempt_at: datetime = utc_column(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = utc_column(default_factory=utcnow)
    sent_at: datetime | None = utc_column(default=None)
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
    date: datetime | None = utc_column(default=None)  # the certified time (daticert data)
    recipient: str = Field(default="", max_length=320)  # daticert consegna, when per recipient
    error: str = Field(default="", sa_type=sa.Text)  # errore / errore-esteso
    signature: str = Field(default="", max_length=16)  # valid | invalid | unchecked


class WebHit(SQLModel, table=True):
    """One request the online desk counted against a limit (web/limits.py): `key` names the limit
    and the client ("filed 203.0.113.9"); rows older than the limit's window are removed."""

    __tablename__ = "web_hit"
    __table_args__ = (sa.Index("ix_web_hit_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    at: datetime = utc_column()
