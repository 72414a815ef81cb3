"""outbound PEC: the account a message leaves through, its PEC state and provider id, and
the receipts that certify it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mailbot.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("account", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("pec_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pec_provider_id", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "ix_outbound_message_pec_provider_id", ["pec_provider_id"], unique=False
        )
    op.create_table(
        "pec_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("date", UTCDateTime(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"]),
        sa.ForeignKeyConstraint(["outbound_id"], ["outbound_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pec_receipt_outbound_id", "pec_receipt", ["outbound_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pec_receipt_outbound_id", table_name="pec_receipt")
    op.drop_table("pec_receipt")
    with op.batch_alter_table("outbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_message_pec_provider_id")
        batch_op.drop_column("pec_provider_id")
        batch_op.drop_column("pec_state")
        batch_op.drop_column("account")
