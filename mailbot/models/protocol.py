"""The registrations a case waits for in the protocol register (`[protocol] adapter =
"command"`): one row a document to register, written with the case in the message's own
transaction, settled later by the registration pass (mailbot/cases/registration.py), which
never runs inside intake. Pending until the adapter answers with a number; each failed attempt
keeps the error and when the next one is due."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mailbot.models.columns import utc_column, utcnow


class ProtocolRegistration(SQLModel, table=True):
    __tablename__ = "protocol_registration"
    __table_args__ = (sa.Index("ix_protocol_registration_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True)
    kind: str = Field(max_length=16)  # "incoming" | "outgoing"
    # The conversation message registered (the citizen's original, or the reply sent).
    message_id: int | None = Field(default=None, foreign_key="conversation_message.id")
    # "pending" | "done" | "dropped" (the case was purged before it was registered)
    status: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = utc_column(default_factory=utcnow)
    next_attempt_at: datetime = utc_column(default_factory=utcnow)
    done_at: datetime | None = utc_column(default=None)
    numero: str = Field(default="", max_length=64)  # as the register answered
    data: str = Field(default="", max_length=10)  # its registration date, YYYY-MM-DD
    # `[protocol] wait_seconds`: the citizen's confirmation (an outbox row) held until
    # `held_until` for the number, and what it was composed from (JSON), to compose it again
    # with the number (mailbot/cases/confirmation_hold.py); cleared once settled.
    confirmation_id: int | None = Field(default=None)
    held_until: datetime | None = utc_column(default=None)
    letter: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    # When the office was told this registration keeps failing (once).
    alerted_at: datetime | None = utc_column(default=None)
