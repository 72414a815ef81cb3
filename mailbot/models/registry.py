"""The taxpayer registry (people by codice fiscale, companies by partita IVA, their addresses and
name tokens) and the contacts who write to us.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from mailbot.models.columns import utc_column, utcnow


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
    removed_at: datetime | None = utc_column(default=None)
    created_at: datetime = utc_column(default_factory=utcnow)
    updated_at: datetime = utc_column(default_factory=utcnow)


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
    created_at: datetime = utc_column(default_factory=utcnow)
