"""The staff members an admin added with `mailbot staff add|import` (the configuration's are
in `Settings.staff`): one row a person or shared mailbox, its roles, offices and desks as
comma-separated ids, and its addresses in a table of their own, each address one member's.
A removed member is disabled, not deleted: the audit trail still names it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mailbot.models.columns import utc_column, utcnow


class StaffMember(SQLModel, table=True):
    __tablename__ = "staff_member"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=255)
    roles: str = Field(default="", max_length=200)  # "operator,responsible"
    offices: str = Field(default="", sa_type=sa.Text)  # office ids, comma-separated
    desks: str = Field(default="", sa_type=sa.Text)  # desk ids, comma-separated
    created_at: datetime = utc_column(default_factory=utcnow)
    created_by: str = Field(default="", max_length=320)
    disabled_at: datetime | None = utc_column(default=None)


class StaffAddress(SQLModel, table=True):
    __tablename__ = "staff_address"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="staff_member.id", index=True)
    address: str = Field(max_length=320, unique=True)  # lower case


class StaffSignIn(SQLModel, table=True):
    """A one-time sign-in link sent to a member's address: only its hash is kept; good once,
    until `expires_at` (backoffice/signin.py)."""

    __tablename__ = "staff_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    address: str = Field(max_length=320)  # lower case
    next_path: str = Field(default="", max_length=200)  # the page asked for before signing in
    created_at: datetime = utc_column(default_factory=utcnow)
    expires_at: datetime = utc_column()
    used_at: datetime | None = utc_column(default=None)


class StaffSession(SQLModel, table=True):
    """A signed-in member's session, in the database so every instance behind a balancer
    knows it; the cookie holds the token, the table its hash."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    address: str = Field(max_length=320)  # lower case: the member it signed in
    via: str = Field(default="link", max_length=16)  # link | oidc
    created_at: datetime = utc_column(default_factory=utcnow)
    expires_at: datetime = utc_column()
    last_seen_at: datetime = utc_column(default_factory=utcnow)
    ended_at: datetime | None = utc_column(default=None)
