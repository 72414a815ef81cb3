"""Why a case's term was missed (force majeure, the user or a third party, the operator) and
whether its complaint lacked the minimum data: the indemnity's exclusions (issue 33)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        batch.add_column(
            sa.Column("missed_term_cause", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "minimum_data_missing", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        batch.drop_column("minimum_data_missing")
        batch.drop_column("missed_term_cause")
