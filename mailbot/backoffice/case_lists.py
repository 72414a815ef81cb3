"""The queries behind the back office's lists: "my cases" (open and suspended) and the archive
(closed), always within `access.visible(member)`, with the filters and the search of the page's
GET parameters, sorted (late and suspended first, then by due date) and paged in SQL: one query
for the page's rows (case, contact, registry name) and one for the count, whatever the number
of cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.cases import access
from mailbot.cases.workorders import CLOSED, OPEN, SUSPENDED
from mailbot.config import CHANNELS, SUBMISSION_KINDS
from mailbot.models import Contact, ConversationMessage, Taxpayer, WorkOrder
from mailbot.roles import Member

PER_PAGE = 50
NUMBER_SEARCH = str.maketrans("-", "/")  # 2026-000001 as typed from a URL: 2026/000001


@dataclass(frozen=True)
class Filters:
    """What the page's GET parameters ask for; anything unknown is ignored, not an error."""

    office: str = ""
    status: str = ""
    kind: str = ""
    category: str = ""
    channel: str = ""
    late: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def read(cls, args: Mapping[str, str], archive: bool) -> Filters:
        statuses = () if archive else (OPEN, SUSPENDED)
        page = args.get("pagina", "1")
        return cls(
            office=args.get("ufficio", "").strip()[:64],
            status=args.get("stato", "") if args.get("stato", "") in statuses else "",
            kind=args.get("tipo", "") if args.get("tipo", "") in SUBMISSION_KINDS else "",
            category=args.get("categoria", "").strip()[:64],
            channel=args.get("canale", "") if args.get("canale", "") in CHANNELS else "",
            late=args.get("scadute", "") == "1" and not archive,
            q=" ".join(args.get("cerca", "").split())[:200],
            page=max(1, min(int(page), 100_000)) if page.isdigit() else 1,
        )

    def query(self, page: int | None = None) -> dict[str, str]:
        """The GET parameters of these filters (for the pages' links)."""
        values = {
            "ufficio": self.office, "stato": self.status, "tipo": self.kind,
            "categoria": self.category, "canale": self.channel,
            "scadute": "1" if self.late else "", "cerca": self.q,
            "pagina": str(page) if page and page > 1 else "",
        }  # fmt: skip
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Listing:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def late_condition(now: datetime) -> Any:
    """Open, past its due date, no reasoned reply yet: what the charter counts as late."""
    return sa.and_(
        col(WorkOrder.status) == OPEN,
        col(WorkOrder.reasoned_reply_at).is_(None),
        col(WorkOrder.due_at) < now,
    )


def list_cases(
    session: Session, member: Member, filters: Filters, *, archive: bool, now: datetime
) -> Listing:
    """One page of the cases `member` sees, as the filters ask."""
    late = late_condition(now)
    conditions = [access.visible(member), *_conditions(filters, archive, late)]
    base = (
        select(WorkOrder, Contact, Taxpayer.name)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .where(*conditions)
    )
    counted = (
        select(sa.func.count())
        .select_from(WorkOrder)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .where(*conditions)
    )
    total = int(session.exec(counted).one())
    pages = max(1, -(-total // PER_PAGE))
    page = min(filters.page, pages)
    order: list[Any]
    if archive:
        order = [col(WorkOrder.closed_at).desc(), col(WorkOrder.id).desc()]
    else:
        first = sa.case((sa.or_(late, col(WorkOrder.status) == SUSPENDED), 0), else_=1)
        order = [first, col(WorkOrder.due_at), col(WorkOrder.id)]
    rows = session.exec(base.order_by(*order).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    listed = [
        {"case": wo, "name": registered or contact.name, "email": contact.email}
        for wo, contact, registered in rows
    ]
    return Listing(listed, total, page, pages)


def _conditions(filters: Filters, archive: bool, late: Any) -> list[Any]:
    found: list[Any] = [col(WorkOrder.voided_at).is_(None)] if not archive else []
    if archive:
        found.append(col(WorkOrder.status) == CLOSED)
    else:
        found.append(
            col(WorkOrder.status).in_([filters.status] if filters.status else [OPEN, SUSPENDED])
        )
    for column, value in (
        (WorkOrder.office, filters.office),
        (WorkOrder.kind, filters.kind),
        (WorkOrder.category, filters.category),
        (WorkOrder.channel, filters.channel),
    ):
        if value:
            found.append(col(column) == value)
    if filters.late:
        found.append(late)
    if filters.q:
        found.append(_search(filters.q))
    return found


def _search(text: str) -> Any:
    """A number (2026/000001, 2026-000001 or a part), the citizen's name, words of the subject
    or of any message; case-insensitive, the text taken literally (no wildcards)."""
    lowered = text.lower()
    number = lowered.translate(NUMBER_SEARCH)

    def has(column: Any, value: str = lowered) -> Any:
        return sa.func.lower(column).contains(value, autoescape=True)

    in_messages = (
        select(ConversationMessage.id)
        .where(ConversationMessage.work_order_id == WorkOrder.id)
        .where(sa.or_(has(ConversationMessage.body_text), has(ConversationMessage.subject)))
        .exists()
    )
    return sa.or_(
        has(WorkOrder.number, number),
        has(Contact.name),
        has(Taxpayer.name),
        has(WorkOrder.subject),
        in_messages,
    )
