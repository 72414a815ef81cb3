"""The annual report's detail tables: cases by kind and channel, outcomes, the rate per thousand
users, refunds paid, due and refused, the suggestions received, the corrective actions taken
and the questionnaire's mean score per question.

Kept apart from `annual` (the headline tiles and charts) so each stays one job. The figures
come from the register rows (`reports.register`) and, for what the register folds into one
cell, from the refund, action and survey tables of the same year's cases.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from mailbot.cases import refunds, register, survey

OUTCOME_NAMES = {"fondato": "fondato", "infondato": "infondato", "parziale": "in parte fondato"}
CHANNEL_NAMES = {"email": "e-mail", "pec": "PEC", "web": "modulo web"}


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
    owed = [r for case in refunds.by_case(session, year).values() for r in case]
    paid = [r for r in owed if r.state == refunds.PAID]
    due = [r for r in owed if r.state == refunds.DUE]
    per_question, comments, answers = survey.figures(session, year)
    prefix = f"{year}/"
    return Detail(
        users=users,
        cases=len(rows),
        by_kind=Counter(r["kind"] for r in rows).most_common(),
        by_channel=Counter(
            CHANNEL_NAMES.get(r["channel"], r["channel"]) for r in rows
        ).most_common(),
        outcomes=Counter(
            OUTCOME_NAMES.get(r["outcome"], r["outcome"]) for r in rows if r["outcome"]
        ).most_common(),
        refunds_paid_eur=sum(r.paid_eur or 0.0 for r in paid),
        refunds_paid=len(paid),
        refunds_due_eur=sum(r.amount_eur for r in due),
        refunds_due=len(due),
        refunds_refused=sum(r.state == refunds.REFUSED for r in owed),
        suggestions=[(r["number"], r["subject"]) for r in rows if r["kind"] == "suggerimento"],
        actions=[
            (number, a.text, a.verified_at is not None)
            for a, number in register.actions(session)
            if number.startswith(prefix)
        ],
        survey=per_question,
        survey_answers=answers,
        comments=comments,
    )


def _eur(value: float) -> str:
    return f"{value:.2f} €".replace(".", ",")


def _score(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _counts(title: str, items: list[tuple[str, int]], whole: int) -> str:
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{n}</td><td>{100 * n / whole:.0f}%</td></tr>"
        for name, n in items
    )
    return (
        f"<h3>{html.escape(title)}</h3><table><tr><th></th><th>pratiche</th><th>quota</th></tr>"
        f"{body or '<tr><td colspan=3>nessuna</td></tr>'}</table>"
    )


def render_html(d: Detail) -> str:
    """The detail as an HTML section for the annual page."""
    rate = (
        f"<p>{_score(d.per_thousand)} reclami ogni 1.000 utenti ({d.users} utenti).</p>"
        if d.per_thousand is not None
        else ""
    )
    outcomes = sum(n for _, n in d.outcomes)
    refunds_text = (
        f"<p>Rimborsi pagati: {_eur(d.refunds_paid_eur)} ({d.refunds_paid} pratiche); "
        f"ancora dovuti: {_eur(d.refunds_due_eur)} ({d.refunds_due}); "
        f"rifiutati: {d.refunds_refused}.</p>"
    )
    questions = "".join(
        f"<tr><td>{html.escape(q.question)}</td><td>{_score(q.mean)} / 5</td>"
        f"<td>{q.answers}</td></tr>"
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
        + _counts("Per tipo", d.by_kind, d.cases)
        + _counts("Per canale", d.by_channel, d.cases)
        + _counts("Esito dei reclami valutati", d.outcomes, outcomes)
        + "<h3>Rimborsi e indennizzi</h3>"
        + refunds_text
        + f"<h3>Questionario di soddisfazione ({d.survey_answers} risposte)</h3>"
        + (
            f"<table><tr><th>domanda</th><th>media</th><th>risposte</th></tr>{questions}</table>"
            if questions
            else "<p>nessuna risposta</p>"
        )
        + f"<h3>Suggerimenti ricevuti ({len(d.suggestions)})</h3>"
        + (f"<ul>{suggestions}</ul>" if suggestions else "<p>nessuno</p>")
        + f"<h3>Azioni correttive ({len(d.actions)})</h3>"
        + (f"<ul>{actions}</ul>" if actions else "<p>nessuna</p>")
        + "</section>"
    )


def pdf_lines(d: Detail) -> list[str]:
    """The detail as the lines of the PDF's second text page."""
    lines = ["Dettaglio", ""]
    if d.per_thousand is not None:
        lines.append(f"Reclami ogni 1.000 utenti: {_score(d.per_thousand)} ({d.users} utenti)")
    lines.append("Per tipo: " + ", ".join(f"{k} {n}" for k, n in d.by_kind))
    lines.append("Per canale: " + ", ".join(f"{k} {n}" for k, n in d.by_channel))
    lines.append("Esiti: " + (", ".join(f"{k} {n}" for k, n in d.outcomes) or "nessuno"))
    lines.append(
        f"Rimborsi pagati: {d.refunds_paid_eur:.2f} EUR ({d.refunds_paid}); dovuti: "
        f"{d.refunds_due_eur:.2f} EUR ({d.refunds_due}); rifiutati: {d.refunds_refused}"
    )
    lines.append(f"Questionario: {d.survey_answers} risposte")
    lines += [f"  {q.question[:70]}: {_score(q.mean)}/5 ({q.answers})" for q in d.survey]
    lines.append(f"Suggerimenti ricevuti: {len(d.suggestions)}")
    lines += [f"  {n}: {s[:70]}" for n, s in d.suggestions[:10]]
    lines.append(f"Azioni correttive: {len(d.actions)}")
    lines += [f"  {n}: {t[:70]}" for n, t, _ in d.actions[:10]]
    return lines
