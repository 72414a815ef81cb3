"""The protocol number on the confirmation and the alert for a registration failing too long
(issue 33, item 6): protocol_registration gains the confirmation held for it (the outbox row,
until when, and what it was composed from) and when the office was told it keeps failing

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("protocol_registration") as batch:
        batch.add_column(sa.Column("confirmation_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("held_until", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("letter", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("alerted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("protocol_registration") as batch:
        batch.drop_column("alerted_at")
        batch.drop_column("letter")
        batch.drop_column("held_until")
        batch.drop_column("confirmation_id")
