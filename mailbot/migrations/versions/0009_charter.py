"""service charter: category, term, extension, pauses, refund, protocollo, satisfaction;
the daily reminder digests sent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mailbot.models import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("category", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("term_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(
            sa.Column("term_working", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("extension_days", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("pauses", sa.Text(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("refund_eur", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("protocollo", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("satisfaction", sa.Integer(), nullable=True))
    op.create_table(
        "digest_sent",
        sa.Column("office", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office", "day"),
    )


def downgrade() -> None:
    op.drop_table("digest_sent")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        for column in (
            "satisfaction",
            "protocollo",
            "refund_eur",
            "pauses",
            "extension_days",
            "term_working",
            "term_days",
            "category",
        ):
            batch_op.drop_column(column)
