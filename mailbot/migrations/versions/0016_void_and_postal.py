"""A case opened in error is voided, not deleted (work_order.void_reason, voided_at, voided_by:
kept in the register as "annullata", out of the statistics, the numbering gap-free); where a
letter goes for a citizen with no e-mail address (work_order.postal_address)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("voided_by", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("postal_address", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        for column in ("postal_address", "voided_by", "voided_at", "void_reason"):
            batch_op.drop_column(column)
