"""The protocol register's adapters (issue 33, item 6 a/b): protocol_registration, one row a
document waiting to be registered by `[protocol] adapter = "command"`, written with the case
and settled by the registration pass

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protocol_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("numero", sa.String(length=64), nullable=False),
        sa.Column("data", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_order.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["conversation_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_protocol_registration_work_order_id", "protocol_registration", ["work_order_id"]
    )
    op.create_index(
        "ix_protocol_registration_due", "protocol_registration", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_protocol_registration_due", table_name="protocol_registration")
    op.drop_index("ix_protocol_registration_work_order_id", table_name="protocol_registration")
    op.drop_table("protocol_registration")
