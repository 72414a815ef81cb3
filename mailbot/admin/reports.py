"""What the service charter asks an office to publish: the register of every complaint of a
year, and the open cases against their terms (`report sla`). Rows are plain dicts of typed
values (dates, floats) so that CSV, XLSX and the annual report share one source; each medium
writes them its own way: the CSV in Italian (semicolons, "11/03/2026", "12,50"), the
spreadsheet as real dates and numbers.

A voided case (opened in error) keeps its row, "annullata" with the reason, and carries
`voided` so every statistic leaves it out; the SLA list never shows it.

It sits beside the pipeline, read-only (DESIGN.md: entry points → pipeline/reconcile → stages).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mailbot import charter, spreadsheet
from mailbot.admin import italian
from mailbot.cases import refunds
from mailbot.cases.workorders import CLOSED
from mailbot.charter import Clock
from mailbot.config import Settings
from mailbot.config.indemnity import CAUSE_NAMES
from mailbot.models import Contact, Taxpayer, WorkOrder

REGISTER_COLUMNS = (
    ("number", "Pratica"),
    ("filed_on", "Data di ricezione"),
    ("author", "Autore"),
    ("codice_fiscale", "Codice fiscale / P. IVA"),
    ("category", "Categoria"),
    ("office", "Ufficio"),
    ("due_on", "Scadenza"),
    ("reasoned_reply_on", "Risposta motivata"),
    ("protocollo", "Protocollo"),
    ("kind", "Tipo"),
    ("channel", "Canale"),
    ("resolution", "Stato"),
    ("void_reason", "Motivo dell'annullamento"),
    ("resolved_on", "Data chiusura"),
    ("outcome", "Esito"),
    ("solution", "Soluzione"),
    ("solution_due", "Soluzione entro"),
    ("days_taken", "Giorni impiegati"),
    ("within_term", "Entro il termine"),
    ("missed_term_cause", "Causa del mancato rispetto"),
    ("refund_eur", "Rimborso dovuto (EUR)"),
    ("refund_state", "Stato rimborso"),
    ("refund_paid_eur", "Rimborso pagato (EUR)"),
    ("satisfaction", "Soddisfazione (1-5)"),
)


def _local(value: datetime | None, clock: Clock) -> date | None:
    return clock.local_day(value) if value else None


PURGED_AUTHOR = "(dati rimossi)"  # `mailbot purge`: the figures stay, the person goes


def _author(wo: WorkOrder, contact: Contact, taxpayer: Taxpayer | None) -> str:
    if wo.purged_at is not None:
        return PURGED_AUTHOR
    return (taxpayer.name if taxpayer else "") or contact.name or contact.email


def register(
    session: Session, settings: Settings, clock: Clock, year: int, desk: str = ""
) -> list[dict[str, Any]]:
    """Every case received in `year` (local time), in number order; with `desk`, only the
    cases that desk opened (a desk reports on its own clientele)."""
    rows: list[dict[str, Any]] = []
    query = (
        select(WorkOrder, Contact, Taxpayer)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .where(col(WorkOrder.number).startswith(f"{year}/"))
        .order_by(col(WorkOrder.number))
    )
    if desk:
        query = query.where(WorkOrder.desk == desk)
    today = clock.today()
    owed = refunds.by_case(session, year)
    for wo, contact, taxpayer in session.exec(query):
        case_refunds = owed.get(wo.id or 0, [])
        received = clock.local_day(wo.received_at)
        replied = _local(wo.reasoned_reply_at, clock)
        pauses = charter.load_pauses(wo.pauses)
        taken = charter.days_taken(
            received,
            replied or today,
            working=wo.term_working,
            calendar=clock.calendar,
            pauses=pauses,
        )
        category = settings.charter.category(wo.category) if wo.category else None
        office = settings.offices.get(wo.office)
        voided = wo.voided_at is not None
        if voided:  # no term to keep: it counts in no statistic
            within = ""
        elif wo.reasoned_reply_at is not None:
            within = "sì" if wo.reasoned_reply_at <= wo.due_at else "no"
        else:  # no answer yet: late already, or still in time
            within = "no" if today > clock.local_day(wo.due_at) else ""
        rows.append(
            {
                "number": wo.number,
                "filed_on": received,
                "author": _author(wo, contact, taxpayer),
                "codice_fiscale": taxpayer.codice_fiscale if taxpayer else "",
                "category": category.name if category else "",
                "office": office.name if office else wo.office,
                "due_on": clock.local_day(wo.due_at),
                "reasoned_reply_on": replied,
                "protocollo": wo.protocollo,
                "resolution": italian.status(wo.status, voided),
                "void_reason": wo.void_reason if voided else "",
                "resolved_on": _local(wo.closed_at, clock),
                "kind": italian.kind(wo.kind),
                "channel": italian.channel(wo.channel),
                "outcome": italian.outcome(wo.outcome),
                "solution": wo.solution,
                "solution_due": wo.solution_due,
                "days_taken": "" if voided else taken,
                "within_term": within,
                "missed_term_cause": CAUSE_NAMES.get(wo.missed_term_cause, ""),
                "refund_eur": wo.refund_eur,
                "refund_state": ", ".join(
                    refunds.STATE_NAMES[r.state]
                    + (f" ({r.compensation})" if r.compensation else "")
                    for r in case_refunds
                ),
                "refund_paid_eur": sum(r.paid_eur or 0.0 for r in case_refunds),
                "satisfaction": wo.satisfaction if wo.satisfaction is not None else "",
                # not register columns: what the annual report groups and lists by
                "voided": voided,
                "id": wo.id,
                "subject": wo.subject,
                "month": received.month,
                "office_id": wo.office,
                "category_id": wo.category,
                "kind_id": wo.kind,
                "channel_id": wo.channel,
            }
        )
    return rows


def sla(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """Open and suspended cases, soonest deadline first, with the days left (negative: late)."""
    today = clock.today()
    query = (
        select(WorkOrder)
        .where(WorkOrder.status != CLOSED)
        .where(col(WorkOrder.reasoned_reply_at).is_(None))
        .where(col(WorkOrder.voided_at).is_(None))
        .order_by(col(WorkOrder.due_at), col(WorkOrder.id))
    )
    return [
        {
            "number": wo.number,
            "office": wo.office,
            "status": wo.status,
            "category": wo.category,
            "due_on": clock.local_day(wo.due_at).isoformat(),
            "days_left": (clock.local_day(wo.due_at) - today).days,
            "subject": wo.subject,
        }
        for wo in session.exec(query)
    ]


def _render(value: Any) -> str:
    """The program's own values in Italian: dates 11/03/2026, decimals 12,50."""
    if isinstance(value, date):
        return italian.day(value)
    if isinstance(value, float):
        return italian.plain_decimal(value)
    return str(value)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Semicolon-separated with a BOM, dates as 11/03/2026 and decimals with a comma
    ("12,50"): what an Italian spreadsheet opens without asking and reads as numbers. Every
    text is neutralised (mailbot/spreadsheet.py)."""
    return spreadsheet.csv_text(
        [label for _, label in columns],
        ([row[key] for key, _ in columns] for row in rows),
        _render,
    )


def to_xlsx(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], path: Path) -> None:
    """Real dates (shown 11/03/2026) and numbers (shown 1.234,50 in an Italian Excel); every
    text a string cell, never a formula (mailbot/spreadsheet.py)."""
    spreadsheet.write_xlsx(
        path,
        "Registro reclami",
        [label for _, label in columns],
        [[row[key] for key, _ in columns] for row in rows],
        _render,
    )
