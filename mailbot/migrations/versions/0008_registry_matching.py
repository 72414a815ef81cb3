"""registry: postal address, change digest, pruning, name tokens; work orders: the taxpayer
the case is about, how sure the match is, its candidates, and whether the sender is authentic

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mailbot.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("taxpayer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("postal_address", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("digest", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("removed_at", UTCDateTime(), nullable=True))
    op.create_table(
        "taxpayer_token",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("taxpayer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["taxpayer_id"], ["taxpayer.id"]),
        sa.PrimaryKeyConstraint("token", "taxpayer_id"),
    )
    # uq_taxpayer_address (taxpayer_id, address) already serves look-ups by taxpayer; the
    # extra index only slowed a registry import down.
    with op.batch_alter_table("taxpayer_address", schema=None) as batch_op:
        batch_op.drop_index("ix_taxpayer_address_taxpayer_id")
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taxpayer_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("match_state", sa.String(length=16), nullable=False, server_default="generic")
        )
        batch_op.add_column(
            sa.Column("match_candidates", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("contact_verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index("ix_work_order_taxpayer_id", ["taxpayer_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_work_order_taxpayer_id", "taxpayer", ["taxpayer_id"], ["id"]
        )
    # Cases opened before this revision: linked by address, never authenticated.
    op.execute(
        "UPDATE work_order SET taxpayer_id = (SELECT contact.taxpayer_id FROM contact"
        " WHERE contact.id = work_order.contact_id)"
    )
    op.execute("UPDATE work_order SET match_state = 'unverified' WHERE taxpayer_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_constraint("fk_work_order_taxpayer_id", type_="foreignkey")
        batch_op.drop_index("ix_work_order_taxpayer_id")
        batch_op.drop_column("contact_verified")
        batch_op.drop_column("match_candidates")
        batch_op.drop_column("match_state")
        batch_op.drop_column("taxpayer_id")
    with op.batch_alter_table("taxpayer_address", schema=None) as batch_op:
        batch_op.create_index("ix_taxpayer_address_taxpayer_id", ["taxpayer_id"], unique=False)
    op.drop_table("taxpayer_token")
    with op.batch_alter_table("taxpayer", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
        batch_op.drop_column("digest")
        batch_op.drop_column("postal_address")
