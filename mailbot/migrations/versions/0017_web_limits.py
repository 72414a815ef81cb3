"""What the online desk counted against its limits (web_hit: one row per counted request, by
limit and client), kept in the database so that every instance and the web process share the
counts and a restart forgets none

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_hit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_hit_key_at", "web_hit", ["key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_hit_key_at", table_name="web_hit")
    op.drop_table("web_hit")
