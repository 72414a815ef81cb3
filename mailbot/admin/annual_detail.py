"""The annual report's detail tables: cases by kind and channel, outcomes, the rate per thousand
users, refunds paid, due and refused, the suggestions received, the corrective actions taken
and the questionnaire's mean score per question.

Kept apart from `annual` (the headline tiles and charts) so each stays one job. The figures
come from the register rows (`reports.register`) and, for what the register folds into one
cell, from the refund, action and survey tables of the same year's cases; voided cases (opened
in error) count in none of them. Kinds, channels and outcomes are the register's Italian names;
numbers are Italian (`italian`).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from mailbot.admin import italian
from mailbot.cases import refunds, register, survey


@dataclass(frozen=True)
class Detail:
    users: int | None  # the user base the rate is counted on (`--users`), if given
    cases: int
    by_kind: list[tuple[str, int]]
    by_channel: list[tuple[str, int]]
    outcomes: list[tuple[str, int]]  # among the cases with an outcome
    refunds_paid_eur: float
    refunds_paid: int
    refunds_due_eur: float
    refunds_due: int
    refunds_refused: int
    suggestions: list[tuple[str, str]]  # number, subject
    actions: list[tuple[str, str, bool]]  # number, action, verified
    survey: list[survey.QuestionFigures]
    survey_answers: int
    comments: list[str]

    @property
    def per_thousand(self) -> float | None:
        return 1000 * self.cases / self.users if self.users else None


def detail(
    session: Session, year: int, rows: Sequence[dict[str, Any]], users: int | None = None
) -> Detail:
    rows = [r for r in rows if not r["voided"]]
    kept, numbers = {r["id"] for r in rows}, {r["number"] for r in rows}
    owed = [r for i, case in refunds.by_case(session, year).items() if i in kept for r in case]
    paid = [r for r in owed if r.state == refunds.PAID]
    due = [r for r in owed if r.state == refunds.DUE]
    per_question, comments, answers = survey.figures(session, year)
    prefix = f"{year}/"
    return Detail(
        users=users,
        cases=len(rows),
        by_kind=Counter(r["kind"] for r in rows).most_common(),
        by_channel=Counter(r["channel"] for r in rows).most_common(),
        outcomes=Counter(r["outcome"] for r in rows if r["outcome"]).most_common(),
        refunds_paid_eur=sum(r.paid_eur or 0.0 for r in paid),
        refunds_paid=len(paid),
        refunds_due_eur=sum(r.amount_eur for r in due),
        refunds_due=len(due),
        refunds_refused=sum(r.state == refunds.REFUSED for r in owed),
        suggestions=[(r["number"], r["subject"]) for r in rows if r["kind_id"] == "suggerimento"],
        actions=[
            (number, a.text, a.verified_at is not None)
            for a, number in register.actions(session)
            if number.startswith(prefix) and number in numbers
        ],
        survey=per_question,
        survey_answers=answers,
        comments=comments,
    )


def _counts(title: str, items: list[tuple[str, int]], whole: int, what: str) -> str:
    body = "".join(
        f'<tr><th scope="row">{html.escape(name)}</th><td>{n}</td>'
        f"<td>{italian.share(n, whole)}</td></tr>"
        for name, n in items
    )
    return (
        f'<h3>{html.escape(title)}</h3><table><thead><tr><th scope="col">{what}</th>'
        '<th scope="col">pratiche</th><th scope="col">quota</th></tr></thead>'
        f"<tbody>{body or '<tr><td colspan=3>nessuna</td></tr>'}</tbody></table>"
    )


def render_html(d: Detail) -> str:
    """The detail as an HTML section for the annual page."""
    rate = (
        f"<p>{italian.decimal(d.per_thousand)} reclami ogni 1.000 utenti "
        f"({italian.number(d.users or 0)} utenti).</p>"
        if d.per_thousand is not None
        else ""
    )
    outcomes = sum(n for _, n in d.outcomes)
    refunds_text = (
        '<table><thead><tr><th scope="col">rimborsi</th><th scope="col">pratiche</th>'
        '<th scope="col">importo</th></tr></thead><tbody>'
        f'<tr><th scope="row">pagati</th><td>{d.refunds_paid}</td>'
        f"<td>{italian.money(d.refunds_paid_eur)}</td></tr>"
        f'<tr><th scope="row">ancora dovuti</th><td>{d.refunds_due}</td>'
        f"<td>{italian.money(d.refunds_due_eur)}</td></tr>"
        f'<tr><th scope="row">rifiutati</th><td>{d.refunds_refused}</td><td></td></tr>'
        "</tbody></table>"
    )
    questions = "".join(
        f'<tr><th scope="row">{html.escape(q.question)}</th>'
        f"<td>{italian.decimal(q.mean)} / 5</td><td>{q.answers}</td></tr>"
        for q in d.survey
    )
    suggestions = "".join(
        f"<li>{html.escape(n)}: {html.escape(s or '(senza oggetto)')}</li>"
        for n, s in d.suggestions
    )
    actions = "".join(
        f"<li>{html.escape(n)}: {html.escape(t)} ({'verificata' if ok else 'da verificare'})</li>"
        for n, t, ok in d.actions
    )
    return (
        '<section class="detail"><h2>Dettaglio</h2>'
        + rate
        + _counts("Per tipo", d.by_kind, d.cases, "tipo")
        + _counts("Per canale", d.by_channel, d.cases, "canale")
        + _counts("Esito dei reclami valutati", d.outcomes, outcomes, "esito")
        + "<h3>Rimborsi e indennizzi</h3>"
        + refunds_text
        + f"<h3>Questionario di soddisfazione ({d.survey_answers} risposte)</h3>"
        + (
            '<table><thead><tr><th scope="col">domanda</th><th scope="col">media</th>'
            f'<th scope="col">risposte</th></tr></thead><tbody>{questions}</tbody></table>'
            if questions
            else "<p>nessuna risposta</p>"
        )
        + f"<h3>Suggerimenti ricevuti ({len(d.suggestions)})</h3>"
        + (f"<ul>{suggestions}</ul>" if suggestions else "<p>nessuno</p>")
        + f"<h3>Azioni correttive ({len(d.actions)})</h3>"
        + (f"<ul>{actions}</ul>" if actions else "<p>nessuna</p>")
        + "</section>"
    )
