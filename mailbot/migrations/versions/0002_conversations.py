"""conversations: reply tokens, reasoned-reply/suspension/closing times, linked cases,
sanitised HTML and author of conversation messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import mailbot.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False, server_default="")
        )

    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column("reasoned_reply_at", mailbot.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", mailbot.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", mailbot.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))

    # Cases opened before this revision get their token now.
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM work_order"))]
    for work_order_id in ids:
        conn.execute(
            sa.text("UPDATE work_order SET reply_token = :t WHERE id = :i"),
            {"t": secrets.token_hex(8), "i": work_order_id},
        )

    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.alter_column("reply_token", existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_work_order_reply_token", ["reply_token"])
        batch_op.create_foreign_key("fk_work_order_parent", "work_order", ["parent_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("work_order", schema=None) as batch_op:
        batch_op.drop_constraint("fk_work_order_parent", type_="foreignkey")
        batch_op.drop_constraint("uq_work_order_reply_token", type_="unique")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("reasoned_reply_at")
        batch_op.drop_column("reply_token")

    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.drop_column("author")
        batch_op.drop_column("body_html")
