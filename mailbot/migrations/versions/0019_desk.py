"""The desk (sportello) that opened a case and remains the citizen's interface for it
(work_order.desk, "" for an office's own case)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
# Issue 29's staff tables (0018_staff.py, part A) come first; until they are merged this
# branch sits on 0017.
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("desk", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.create_index("ix_work_order_desk", ["desk"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_index("ix_work_order_desk")
        batch_op.drop_column("desk")
