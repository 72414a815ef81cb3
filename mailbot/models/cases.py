"""The tables of cases: the yearly counter, the work order itself, its conversation with the
attachments, its corrective actions, refunds and survey answers, and the append-only event log.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mailbot.models.columns import utc_column, utcnow


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
    received_at: datetime = utc_column()
    opened_at: datetime = utc_column(default_factory=utcnow)
    due_at: datetime = utc_column(index=True)
    # Token for plus-addressed Reply-To (suggerimenti+<token>@…), secret enough not to guess.
    reply_token: str = Field(max_length=32)
    # The charter's reasoned reply: the first reply marked #risposta, or one closing the case.
    reasoned_reply_at: datetime | None = utc_column(default=None)
    suspended_at: datetime | None = utc_column(default=None)
    closed_at: datetime | None = utc_column(default=None)
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
    # Why the term was missed (force_majeure | user_or_third_party | operator; "" not said) and
    # whether the complaint lacked the minimum data: the indemnity's exclusions (issue 33).
    missed_term_cause: str = Field(
        default="", max_length=32, sa_column_kwargs={"server_default": ""}
    )
    minimum_data_missing: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # What ARERA's register names the request by (issue 33): the type of use (domestico,
    # non_domestico, or the operator's own word), the customer code and the supply point (the
    # account's code for waste). Set with `workorders supply`; "" when not given.
    use_type: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    customer_code: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    supply_point: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    satisfaction: int | None = Field(default=None)  # 1-5, the citizen's answer on closing
    # `mailbot purge` removed its texts, originals and contact details; figures stay.
    purged_at: datetime | None = utc_column(default=None)
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
    # Opened in error (an operator's mail taken for a citizen's, a duplicate): voided by an
    # admin with the reason. It keeps its number and its row in the register ("annullata") and
    # leaves every statistic; nothing more is sent for it.
    void_reason: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    voided_at: datetime | None = utc_column(default=None)
    voided_by: str = Field(default="", max_length=320, sa_column_kwargs={"server_default": ""})
    # Where the office's letters go for a citizen with no e-mail address (post, counter, phone).
    postal_address: str = Field(
        default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""}
    )
    # The desk (sportello) that opened it and remains the citizen's interface: the office's
    # answers reach the citizen through it, its letters are signed by it (issue 29).
    desk: str = Field(
        default="", max_length=64, index=True, sa_column_kwargs={"server_default": ""}
    )


class CorrectiveAction(SQLModel, table=True):
    """A corrective action a case led to (`#azione`), and its check (UNI 10600's monitoring)."""

    __tablename__ = "corrective_action"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    text: str = Field(sa_type=sa.Text)
    created_by: str = Field(max_length=320)
    created_at: datetime = utc_column(default_factory=utcnow)
    verified_at: datetime | None = utc_column(default=None)
    verified_by: str = Field(default="", max_length=320)
    verification: str = Field(default="", sa_type=sa.Text)


class Refund(SQLModel, table=True):
    """What the charter owes a citizen for a case: money (`amount_eur`, doubled when paid after
    `pay_by`) or a compensation in kind (`compensation`, e.g. a free ride); due until an admin
    records it paid or refused (with the reason)."""

    __tablename__ = "refund"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    reason: str = Field(max_length=16)  # late (the term was missed) | founded (#esito fondato)
    amount_eur: float = Field(default=0.0)
    compensation: str = Field(default="", sa_type=sa.Text)
    state: str = Field(default="due", max_length=16, index=True)  # due | paid | refused
    created_at: datetime = utc_column(default_factory=utcnow)
    pay_by: date
    decided_at: datetime | None = utc_column(default=None)
    decided_by: str = Field(default="", max_length=320)
    paid_eur: float | None = Field(default=None)
    note: str = Field(default="", sa_type=sa.Text)  # the payment's reference, or why refused


class SurveyResponse(SQLModel, table=True):
    """A citizen's answers to the satisfaction questionnaire (by reply or on the web form): the
    questions as they were asked, a 1-5 score for each, and a comment."""

    __tablename__ = "survey_response"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    answered_at: datetime = utc_column(default_factory=utcnow)
    channel: str = Field(default="email", max_length=8)  # email | web
    questions: str = Field(sa_type=sa.Text)  # JSON list of the questions' texts
    scores: str = Field(sa_type=sa.Text)  # JSON list of 1-5, one per question
    comment: str = Field(default="", sa_type=sa.Text)


class ConversationMessage(SQLModel, table=True):
    """One message of a case's conversation, either way; the raw original stays in storage."""

    __tablename__ = "conversation_message"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    direction: str = Field(max_length=3)  # "in" | "out"
    kind: str = Field(max_length=32)  # citizen, confirmation, …
    from_address: str = Field(max_length=320)
    to_addresses: str = Field(sa_type=sa.Text)  # comma-separated
    date: datetime = utc_column()
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


class Event(SQLModel, table=True):
    """Append-only audit trail: who did what to which case, when."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(default_factory=utcnow, index=True)
    kind: str = Field(max_length=48)
    actor: str = Field(default="mailbot", max_length=320)
    work_order_id: int | None = Field(default=None, foreign_key="work_order.id", index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id")
    data: str = Field(default="{}", sa_type=sa.Text)  # JSON
