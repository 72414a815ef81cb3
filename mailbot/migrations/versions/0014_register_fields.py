"""What the charter's register records: work_order.kind, channel, outcome, solution and
solution_due; contact.phone (a case opened at the counter or by phone); corrective_action

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), nullable=False, server_default="reclamo")
        )
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="email")
        )
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("solution", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("solution_due", sa.Date(), nullable=True))
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phone", sa.String(length=64), nullable=False, server_default="")
        )
    op.create_table(
        "corrective_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("verified_at", sa.DateTime(), nullable=True),
        sa.Column("verified_by", sa.String(length=320), nullable=False),
        sa.Column("verification", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_order.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_corrective_action_work_order_id", "corrective_action", ["work_order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_corrective_action_work_order_id", table_name="corrective_action")
    op.drop_table("corrective_action")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("phone")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        for column in ("solution_due", "solution", "outcome", "channel", "kind"):
            batch_op.drop_column(column)
