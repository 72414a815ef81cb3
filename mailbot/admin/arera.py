"""The regulator's register and annual data (ARERA: RQSII for water, TQRIF for waste): per
written request of a year, the register row ARERA asks for; per kind of request, the figures of
the annual data collection: answered within the term, late by the cause of the missed term
(force majeure, the user or a third party, the operator, not stated), still unanswered past the
term, the mean actual time in the term's own unit (working days for a working-day term), the
share within the term and, for waste, the general standard of the scheme (config/arera_targets).

Only the regulated kinds (reclamo, richiesta_informazioni, rettifica_fatturazione) are requests
in ARERA's sense: the others (suggestions, reports, refund requests) stay in the charter's
register (`report register`) and are left out here, as are voided cases. The share within the
term counts the cases answered or whose term has ended (a case still in its term is neither),
as the annual report does; every late case counts as late whatever its cause, the causes being
reported beside it. Rows are plain dicts of typed values; `write` lays them out as a workbook
for upload (one sheet of figures per kind, one of the register) through mailbot/spreadsheet.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from mailbot import charter, spreadsheet
from mailbot.admin.reports import PURGED_AUTHOR
from mailbot.cases import refunds
from mailbot.charter import Clock
from mailbot.config import arera_targets
from mailbot.config.arera_targets import KIND_NAMES, REGULATED_KINDS
from mailbot.config.indemnity import CAUSE_NAMES, CAUSES
from mailbot.models import Contact, Taxpayer, WorkOrder

NOT_STATED = "not_stated"
LATE_CAUSES = (*CAUSES, NOT_STATED)
NOT_STATED_NAME = "causa non indicata"
USE_NAMES = {"domestico": "domestico", "non_domestico": "non domestico"}

REGISTER_COLUMNS = (
    ("number", "Codice di rintracciabilità"),
    ("kind", "Tipologia di richiesta"),
    ("use_type", "Tipologia d'uso"),
    ("requester", "Richiedente"),
    ("customer_code", "Codice utente"),
    ("supply_point", "Codice utenza / punto di fornitura"),
    ("received_on", "Data di ricevimento"),
    ("answered_on", "Data di invio della risposta motivata"),
    ("days_taken", "Tempo effettivo"),
    ("unit", "Unità del termine"),
    ("within_term", "Entro il termine"),
    ("cause", "Causa del mancato rispetto"),
    ("indemnity_paid_eur", "Indennizzo pagato (EUR)"),
)


def register(session: Session, clock: Clock, year: int) -> list[dict[str, Any]]:
    """The written requests of the regulated kinds received in `year`, in number order."""
    query = (
        select(WorkOrder, Contact, Taxpayer)
        .join(Contact, col(Contact.id) == WorkOrder.contact_id)
        .outerjoin(Taxpayer, col(Taxpayer.id) == WorkOrder.taxpayer_id)
        .where(col(WorkOrder.number).startswith(f"{year}/"))
        .where(col(WorkOrder.kind).in_(REGULATED_KINDS))
        .where(col(WorkOrder.voided_at).is_(None))
        .order_by(col(WorkOrder.number))
    )
    paid = refunds.by_case(session, year)
    today = clock.today()
    return [
        _row(wo, contact, taxpayer, paid.get(wo.id or 0, []), (clock, today))
        for wo, contact, taxpayer in session.exec(query)
    ]


def left_out(session: Session, year: int) -> int:
    """The cases of `year` that are not regulated requests (other kinds, or voided)."""
    query = select(WorkOrder.id).where(col(WorkOrder.number).startswith(f"{year}/"))
    every = len(session.exec(query).all())
    regulated = query.where(col(WorkOrder.kind).in_(REGULATED_KINDS)).where(
        col(WorkOrder.voided_at).is_(None)
    )
    return every - len(session.exec(regulated).all())


def _row(
    wo: WorkOrder,
    contact: Contact,
    taxpayer: Taxpayer | None,
    case_refunds: list[Any],
    when: tuple[Clock, date],
) -> dict[str, Any]:
    clock, today = when  # the clock, and the day "past the term" is judged on
    received = clock.local_day(wo.received_at)
    answered = clock.local_day(wo.reasoned_reply_at) if wo.reasoned_reply_at else None
    due = clock.local_day(wo.due_at)
    taken = (
        charter.days_taken(
            received,
            answered,
            working=wo.term_working,
            calendar=clock.calendar,
            pauses=charter.load_pauses(wo.pauses),
        )
        if answered
        else None
    )
    late = (wo.reasoned_reply_at > wo.due_at) if wo.reasoned_reply_at else today > due
    state = "on_time" if answered and not late else ("late" if answered else "")
    if not answered:
        state = "open_late" if late else "open"
    cause = (wo.missed_term_cause or NOT_STATED) if late else ""
    if wo.purged_at is not None:
        requester = PURGED_AUTHOR
    else:
        requester = (taxpayer.name if taxpayer else "") or contact.name or contact.email
    return {
        "number": wo.number,
        "kind": KIND_NAMES[wo.kind],
        "use_type": USE_NAMES.get(wo.use_type, wo.use_type),
        "requester": requester,
        "customer_code": wo.customer_code,
        "supply_point": wo.supply_point,
        "received_on": received,
        "answered_on": answered,
        "days_taken": taken if taken is not None else "",
        "unit": _unit({wo.term_working}),
        "within_term": {"on_time": "sì", "late": "no", "open_late": "no"}.get(state, ""),
        "cause": CAUSE_NAMES.get(cause, NOT_STATED_NAME) if cause else "",
        "indemnity_paid_eur": sum(  # the late-reply indemnity, as paid on a bill
            (r.paid_eur or 0.0 for r in case_refunds if r.reason == "late" and r.state == "paid"),
            0.0,
        ),
        # not register columns: what the figures group by
        "kind_id": wo.kind,
        "state": state,
        "cause_id": cause,
        "working": wo.term_working,
    }


def _unit(working: set[bool]) -> str:
    if working == {False}:
        return "giorni di calendario"
    return "giorni lavorativi" if working <= {True} else "giorni (termini misti)"


@dataclass(frozen=True)
class KindFigures:
    kind: str
    received: int
    answered: int
    on_time: int
    late: dict[str, int]  # cause (LATE_CAUSES) → answered late for it
    open_past_term: int
    open_in_term: int
    mean_days: float | None  # answered ones, in `unit`
    unit: str
    share: float | None  # percent within the term of the decided ones
    target: float | None  # percent, the scheme's general standard (or an override)
    met: bool | None  # None: no target, or nothing decided


def figures(
    rows: Sequence[dict[str, Any]],
    scheme: str | None = None,
    overrides: dict[str, float] | None = None,
) -> list[KindFigures]:
    """The annual data per regulated kind, from the register rows (the two never disagree)."""
    found = []
    for kind in REGULATED_KINDS:
        mine = [r for r in rows if r["kind_id"] == kind]
        states = [r["state"] for r in mine]
        answered = [r for r in mine if r["state"] in ("on_time", "late")]
        on_time, past = states.count("on_time"), states.count("open_late")
        decided = len(answered) + past
        share = 100.0 * on_time / decided if decided else None
        target = arera_targets.target(scheme, kind, overrides)
        late = {c: sum(r["state"] == "late" and r["cause_id"] == c for r in mine)
                for c in LATE_CAUSES}  # fmt: skip
        found.append(
            KindFigures(
                kind=kind,
                received=len(mine),
                answered=len(answered),
                on_time=on_time,
                late=late,
                open_past_term=past,
                open_in_term=states.count("open"),
                mean_days=statistics.mean(r["days_taken"] for r in answered) if answered else None,
                unit=_unit({r["working"] for r in mine} or {True}),
                share=round(share, 2) if share is not None else None,
                target=target,
                met=None if target is None or share is None else share >= target,
            )
        )
    return found


def sheet_rows(f: KindFigures, scheme: str | None) -> list[list[spreadsheet.Cell]]:
    """One kind's figures as (item, value) rows, in Italian, values as numbers."""
    yes_no = {True: "sì", False: "no", None: ""}
    mean = round(f.mean_days, 2) if f.mean_days is not None else None
    return [
        ["Tipologia di richiesta", KIND_NAMES[f.kind]],
        ["Richieste ricevute", f.received],
        ["Risposte inviate", f.answered],
        ["Risposte entro il termine", f.on_time],
        ["Risposte oltre il termine: forza maggiore", f.late["force_majeure"]],
        ["Risposte oltre il termine: causa imputabile al cliente o a terzi",
         f.late["user_or_third_party"]],
        ["Risposte oltre il termine: causa imputabile al gestore", f.late["operator"]],
        ["Risposte oltre il termine: causa non indicata", f.late[NOT_STATED]],
        ["Senza risposta, termine scaduto", f.open_past_term],
        ["Senza risposta, nel termine", f.open_in_term],
        [f"Tempo effettivo medio ({f.unit})", mean],
        ["Quota entro il termine (%)", f.share],
        ["Schema regolatorio", scheme or ""],
        ["Standard generale (%)", f.target],
        ["Standard rispettato", yes_no[f.met]],
    ]  # fmt: skip


SHEET_TITLES = {
    "reclamo": "Reclami",
    "richiesta_informazioni": "Richieste di informazioni",
    "rettifica_fatturazione": "Rettifiche di fatturazione",
}


def write(
    path: Path, rows: Sequence[dict[str, Any]], found: Sequence[KindFigures], scheme: str | None
) -> None:
    """The workbook for upload: a sheet of figures per kind, then the register."""
    sheets = [
        spreadsheet.Sheet(SHEET_TITLES[f.kind], ("Voce", "Valore"), sheet_rows(f, scheme))
        for f in found
    ]
    sheets.append(
        spreadsheet.Sheet(
            "Registro",
            [label for _, label in REGISTER_COLUMNS],
            [[r[key] for key, _ in REGISTER_COLUMNS] for r in rows],
        )
    )
    spreadsheet.write_workbook(path, sheets)
