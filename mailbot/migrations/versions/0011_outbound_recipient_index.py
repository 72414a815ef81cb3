"""outbox: index on (recipients, created_at) for the per-recipient loop brake

Without it each message counted the whole outbox: ingest slowed as the outbox grew.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbound_recipient", "outbound_message", ["recipients", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_recipient", table_name="outbound_message")
