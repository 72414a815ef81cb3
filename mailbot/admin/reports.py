"""What the service charter asks an office to publish: the register of every complaint of a
year, and the open cases against their terms (`report sla`). Rows are plain dicts so that CSV,
XLSX and JSON share one source.

It sits beside the pipeline, read-only (DESIGN.md: entry points → pipeline/reconcile → stages).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mailbot import charter
from mailbot.cases import refunds
from mailbot.cases.workorders import CLOSED
from mailbot.charter import Clock
from mailbot.config import Settings
from mailbot.models import Contact, Taxpayer, WorkOrder

KIND_NAMES = {"richiesta_rimborso": "richiesta di rimborso"}
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
    ("resolved_on", "Data chiusura"),
    ("outcome", "Esito"),
    ("solution", "Soluzione"),
    ("solution_due", "Soluzione entro"),
    ("days_taken", "Giorni impiegati"),
    ("within_term", "Entro il termine"),
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


def register(session: Session, settings: Settings, clock: Clock, year: int) -> list[dict[str, Any]]:
    """Every case received in `year` (local time), in number order."""
    rows: list[dict[str, Any]] = []
    query = (
        select(WorkOrder, Contact, Taxpayer)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .where(col(WorkOrder.number).startswith(f"{year}/"))
        .order_by(col(WorkOrder.number))
    )
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
        if wo.reasoned_reply_at is not None:
            within = "sì" if wo.reasoned_reply_at <= wo.due_at else "no"
        else:  # no answer yet: late already, or still in time
            within = "no" if today > clock.local_day(wo.due_at) else ""
        rows.append(
            {
                "number": wo.number,
                "filed_on": received.isoformat(),
                "author": _author(wo, contact, taxpayer),
                "codice_fiscale": taxpayer.codice_fiscale if taxpayer else "",
                "category": category.name if category else "",
                "office": wo.office,
                "due_on": clock.local_day(wo.due_at).isoformat(),
                "reasoned_reply_on": replied.isoformat() if replied else "",
                "protocollo": wo.protocollo,
                "resolution": {"open": "aperta", "suspended": "sospesa", CLOSED: "chiusa"}.get(
                    wo.status, wo.status
                ),
                "resolved_on": d.isoformat() if (d := _local(wo.closed_at, clock)) else "",
                "kind": KIND_NAMES.get(wo.kind, wo.kind),
                "channel": wo.channel,
                "outcome": wo.outcome or "",
                "solution": wo.solution,
                "solution_due": wo.solution_due.isoformat() if wo.solution_due else "",
                "days_taken": taken,
                "within_term": within,
                "refund_eur": wo.refund_eur,
                "refund_state": ", ".join(
                    refunds.STATE_NAMES[r.state]
                    + (f" ({r.compensation})" if r.compensation else "")
                    for r in case_refunds
                ),
                "refund_paid_eur": sum(r.paid_eur or 0.0 for r in case_refunds),
                "satisfaction": wo.satisfaction if wo.satisfaction is not None else "",
                "subject": wo.subject,  # not a register column: the annual report's list
                "month": received.month,
                "office_id": wo.office,
                "category_id": wo.category,
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


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Semicolon-separated with a BOM: what an Italian spreadsheet opens without asking."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([label for _, label in columns])
    for row in rows:
        writer.writerow([row[key] for key, _ in columns])
    return "\ufeff" + out.getvalue()


def to_xlsx(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Registro reclami"
    sheet.append([label for _, label in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[key] for key, _ in columns])
    for index, (key, label) in enumerate(columns, start=1):
        width = max([len(label), *(len(str(r[key])) for r in rows)]) + 2
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(width, 60)
    sheet.freeze_panes = "A2"
    book.save(path)
