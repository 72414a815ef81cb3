"""What ARERA's register names a request by: the type of use, the customer code and the supply
point (issue 33, item 4)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("use_type", 32), ("customer_code", 64), ("supply_point", 64))


def upgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        for name, length in COLUMNS:
            batch.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )


def downgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
