"""Alembic environment: runs against the engine mailbot hands over in `config.attributes`.

Several instances starting at once upgrade one at a time: on PostgreSQL a transaction-scoped
advisory lock (the others wait, then find nothing left to do); SQLite's BEGIN IMMEDIATE does
the same there."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import mailbot.models  # noqa: F401  (registers the tables on SQLModel.metadata)

engine = context.config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations with `mailbot db upgrade`")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # the key: any constant of ours
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(495555080052)"))
        context.run_migrations()
    connection.commit()
