"""`workorders list`'s rows through SQLAlchemy Core: the same summaries as
`cases.views.list_work_orders` (same keys, order and values; tests/unit/test_cli_caselist.py
compares the two on a seeded database), read without SQLModel, Pydantic and the 23 table
classes, which cost a list of cases ~0.3 s of its ~0.5 s budget (issue 32, bench/cli.py).

Only the columns a summary shows are named, each with the SQL type its model gives it, so
values come back as the ORM gives them (booleans, floats, dates; times as aware UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mailbot.types import deliverable

_TEXT = ("number", "status", "office", "desk", "subject", "match_rule", "match_state",
         "match_candidates", "category", "protocollo", "kind", "channel", "outcome", "solution",
         "void_reason", "voided_by", "postal_address", "missed_term_cause")  # fmt: skip
_TIMES = ("opened_at", "due_at", "reasoned_reply_at", "voided_at")

work_order = sa.table(
    "work_order",
    *(sa.column(name, sa.String) for name in _TEXT),
    *(sa.column(name, sa.DateTime) for name in _TIMES),
    *(sa.column(name, sa.Integer) for name in ("id", "contact_id", "taxpayer_id")),
    *(sa.column(name, sa.Integer) for name in ("term_days", "extension_days", "satisfaction")),
    *(sa.column(name, sa.Boolean) for name in ("contact_verified", "term_working")),
    sa.column("minimum_data_missing", sa.Boolean),
    *(sa.column(name, sa.Float) for name in ("match_confidence", "refund_eur")),
    sa.column("solution_due", sa.Date),
)
_CONTACT, _TAXPAYER = ("email", "phone", "name"), ("postal_address", "name", "codice_fiscale")
contact = sa.table("contact", sa.column("id", sa.Integer), *map(sa.column, _CONTACT))
taxpayer = sa.table("taxpayer", sa.column("id", sa.Integer), *map(sa.column, _TAXPAYER))
message = sa.table("conversation_message", sa.column("work_order_id", sa.Integer))


def list_work_orders(
    connection: sa.Connection, tz: ZoneInfo, status: str | None = None, office: str | None = None
) -> list[dict[str, Any]]:
    """As `cases.views.list_work_orders`, oldest first."""
    # The message count as a correlated subquery (the index on work_order_id), as views does.
    count = (
        sa.select(sa.func.count())
        .select_from(message)
        .where(message.c.work_order_id == work_order.c.id)
        .correlate(work_order)
        .scalar_subquery()
    )
    query = (
        sa.select(
            work_order,
            *(c.label(f"ct_{c.name}") for c in contact.c),
            *(c.label(f"tp_{c.name}") for c in taxpayer.c),
            count.label("message_count"),
        )
        .select_from(work_order)
        .join(contact, contact.c.id == work_order.c.contact_id)
        .outerjoin(taxpayer, taxpayer.c.id == work_order.c.taxpayer_id)
    )
    if status:
        query = query.where(work_order.c.status == status)
    if office:
        query = query.where(work_order.c.office == office)
    rows = connection.execute(query.order_by(work_order.c.id)).mappings()
    return [_summary(row, tz) for row in rows]


def _iso(value: datetime, tz: ZoneInfo) -> str:
    return value.replace(tzinfo=UTC).astimezone(tz).isoformat(timespec="seconds")


def _summary(row: Any, tz: ZoneInfo) -> dict[str, Any]:
    known = row["tp_id"] is not None  # the ORM gives no Taxpayer for a NULL key
    return {
        "number": row["number"],
        "status": row["status"],
        "office": row["office"],
        "desk": row["desk"] or None,
        "subject": row["subject"],
        "opened_at": _iso(row["opened_at"], tz),
        "due_at": _iso(row["due_at"], tz),
        "contact": {
            "email": row["ct_email"],
            "reachable": deliverable(row["ct_email"]),
            "phone": row["ct_phone"] or None,
            "postal_address": row["postal_address"]
            or (row["tp_postal_address"] if known else "")
            or None,
            "name": row["tp_name"] if known else row["ct_name"],
            "generic": not known,
            "codice_fiscale": row["tp_codice_fiscale"] if known else None,
            "verified": row["contact_verified"],
        },
        "match": {
            "rule": row["match_rule"],
            "confidence": row["match_confidence"],
            "state": row["match_state"],
            "candidates": [c for c in row["match_candidates"].split(",") if c],
        },
        "charter": {
            "category": row["category"] or None,
            "term_days": row["term_days"],
            "working_days": row["term_working"],
            "extension_days": row["extension_days"],
            "reasoned_reply_at": _iso(row["reasoned_reply_at"], tz)
            if row["reasoned_reply_at"]
            else None,
            "refund_eur": row["refund_eur"],
            "protocollo": [p for p in row["protocollo"].split(", ") if p],
            "missed_term_cause": row["missed_term_cause"] or None,
            "minimum_data_missing": bool(row["minimum_data_missing"]),
            "satisfaction": row["satisfaction"],
            "kind": row["kind"],
            "channel": row["channel"],
            "outcome": row["outcome"],
            "solution": row["solution"] or None,
            "solution_due": row["solution_due"].isoformat() if row["solution_due"] else None,
        },
        "message_count": row["message_count"],
        "void": (
            {"reason": row["void_reason"], "by": row["voided_by"], "at": _iso(row["voided_at"], tz)}
            if row["voided_at"]
            else None
        ),
    }
