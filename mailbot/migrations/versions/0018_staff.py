"""The staff directory as data (issue 29): staff_member (name, roles, offices, desks; disabled,
never deleted) and staff_address (each address one member's, lower case), for the members an
admin adds with `mailbot staff add|import` beside the configuration's

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("offices", sa.Text(), nullable=False),
        sa.Column("desks", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "staff_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["staff_member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
    )
    op.create_index(
        "ix_staff_address_member_id", "staff_address", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_staff_address_member_id", table_name="staff_address")
    op.drop_table("staff_address")
    op.drop_table("staff_member")
