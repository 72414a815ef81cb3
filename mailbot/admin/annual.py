"""The annual report the service charter asks for: a self-contained HTML page (charts inline as
SVG, no external file or script) and the same as a PDF, written for a council member.

Cases per month (against the previous year), by category and by office, the share answered
within the term, median and 90th-percentile days to a reasoned reply, satisfaction, refunds due;
then the detail tables of `annual_detail` (kind, channel, outcomes, rate per user base, refunds,
suggestions, corrective actions, questionnaire).
Figures come from the register rows (`reports.register`), so the report and the register never
disagree. Charts are drawn with matplotlib (its non-interactive Agg/SVG/PDF back ends).
"""

from __future__ import annotations

import html
import io
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from mailbot.admin.annual_detail import Detail, pdf_lines
from mailbot.admin.annual_detail import render_html as detail_html

MONTHS = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")
NONE = "n.d."  # no data
BLUE, GREY, GREEN, RED = "#1f5fa8", "#b8c2cc", "#2e8b57", "#c0392b"


@dataclass(frozen=True)
class Figures:
    year: int
    cases: int
    previous_cases: int
    answered: int
    within_term: int
    median_days: float | None
    p90_days: float | None
    satisfaction: float | None
    ratings: int
    refunds_eur: float
    refunds: int
    per_month: list[int]
    previous_per_month: list[int]
    by_category: list[tuple[str, int]]
    by_office: list[tuple[str, int, int]]  # office, cases, answered within term


def figures(
    year: int, rows: Sequence[dict[str, Any]], previous: Sequence[dict[str, Any]]
) -> Figures:
    answered = [r for r in rows if r["reasoned_reply_on"]]
    days = sorted(int(r["days_taken"]) for r in answered)
    ratings = [int(r["satisfaction"]) for r in rows if r["satisfaction"] != ""]
    refunds = [float(r["refund_eur"]) for r in rows if float(r["refund_eur"]) > 0]
    offices: dict[str, list[int]] = {}
    for r in rows:
        counts = offices.setdefault(r["office"], [0, 0])
        counts[0] += 1
        counts[1] += r["within_term"] == "sì"
    return Figures(
        year=year,
        cases=len(rows),
        previous_cases=len(previous),
        answered=len(answered),
        within_term=sum(r["within_term"] == "sì" for r in rows),
        median_days=statistics.median(days) if days else None,
        p90_days=_percentile(days, 0.9),
        satisfaction=statistics.mean(ratings) if ratings else None,
        ratings=len(ratings),
        refunds_eur=sum(refunds),
        refunds=len(refunds),
        per_month=_per_month(rows),
        previous_per_month=_per_month(previous),
        by_category=Counter(r["category"] or "Non classificato" for r in rows).most_common(),
        by_office=sorted(((o, c[0], c[1]) for o, c in offices.items()), key=lambda x: -x[1]),
    )


def _per_month(rows: Sequence[dict[str, Any]]) -> list[int]:
    months = [0] * 12
    for r in rows:
        months[int(r["month"]) - 1] += 1
    return months


def _percentile(values: Sequence[int], share: float) -> float | None:
    """Nearest-rank percentile: the value at least `share` of the cases did not exceed."""
    if not values:
        return None
    rank = max(1, -(-len(values) * share // 1))  # ceil
    return float(values[int(rank) - 1])


def _months_chart(f: Figures) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = range(12)
    ax.bar([i - 0.2 for i in x], f.previous_per_month, 0.4, color=GREY, label=str(f.year - 1))
    ax.bar([i + 0.2 for i in x], f.per_month, 0.4, color=BLUE, label=str(f.year))
    ax.set_xticks(list(x), MONTHS)
    ax.set_title("Reclami ricevuti per mese")
    ax.legend(frameon=False)
    _tidy(ax)
    return fig


def _category_chart(f: Figures) -> Figure:
    items = list(reversed(f.by_category[:12]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(items) + 1.2))
    ax.barh([name for name, _ in items], [n for _, n in items], color=BLUE)
    for i, (_, n) in enumerate(items):
        ax.text(n, i, f" {n}", va="center", fontsize=9)
    ax.set_title("Reclami per categoria")
    _tidy(ax)
    return fig


def _office_chart(f: Figures) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(f.by_office) + 1.6))
    names = [o for o, _, _ in f.by_office][::-1]
    total = [n for _, n, _ in f.by_office][::-1]
    within = [w for _, _, w in f.by_office][::-1]
    ax.barh(names, total, color=GREY, label="ricevuti")
    ax.barh(names, within, color=GREEN, label="risposti entro il termine")
    ax.set_title("Per ufficio: ricevuti e risposti entro il termine")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    _tidy(ax)
    return fig


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.figure.tight_layout()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: without the XML prolog and doctype


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else NONE


def _days(value: float | None) -> str:
    return f"{value:.0f} giorni" if value is not None else NONE


def render_html(f: Figures, institution: str, detail: Detail | None = None) -> str:
    change = (
        f"{(f.cases - f.previous_cases) / f.previous_cases:+.0%} rispetto al {f.year - 1}"
        if f.previous_cases
        else f"nessun dato per il {f.year - 1}"
    )
    tiles = [
        ("Reclami ricevuti", str(f.cases), change),
        (
            "Risposti entro il termine",
            _share(f.within_term, f.cases),
            f"{f.within_term} su {f.cases}",
        ),
        ("Tempo di risposta", _days(f.median_days), f"mediana; il 90% entro {_days(f.p90_days)}"),
        (
            "Soddisfazione",
            f"{f.satisfaction:.1f} / 5".replace(".", ",") if f.satisfaction is not None else NONE,
            f"{f.ratings} risposte",
        ),
        ("Rimborsi dovuti", f"{f.refunds_eur:.2f} €".replace(".", ","), f"{f.refunds} pratiche"),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="label">{html.escape(a)}</div>'
        f'<div class="value">{html.escape(b)}</div><div class="note">{html.escape(c)}</div></div>'
        for a, b, c in tiles
    )
    charts = "".join(
        f'<section class="chart">{_svg(make(f))}</section>'
        for make in (_months_chart, _category_chart, _office_chart)
    )
    return f"""<!DOCTYPE html>
<html lang="it"><head><meta charset="utf-8">
<title>Relazione annuale sui reclami {f.year}: {html.escape(institution)}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 2rem auto; max-width: 60rem;
       color: #1d2733; line-height: 1.45; }}
h1 {{ font-size: 1.7rem; margin-bottom: .2rem; }}
.sub {{ color: #5b6875; margin-top: 0; }}
.tiles {{ display: grid; grid-template-columns: repeat(5, 1fr); gap: .8rem; margin: 1.5rem 0; }}
.tile {{ border: 1px solid #d6dde4; border-radius: .5rem; padding: .8rem; }}
.label {{ font-size: .8rem; color: #5b6875; }}
.value {{ font-size: 1.6rem; font-weight: bold; color: {BLUE}; }}
.note {{ font-size: .75rem; color: #5b6875; }}
.chart svg {{ width: 100%; height: auto; }}
.detail table {{ border-collapse: collapse; margin-bottom: 1rem; }}
.detail td, .detail th {{ border-bottom: 1px solid #d6dde4; padding: .2rem .8rem .2rem 0;
       text-align: left; }}
footer {{ font-size: .8rem; color: #5b6875; margin-top: 2rem; }}
</style></head><body>
<h1>Relazione annuale sui reclami {f.year}</h1>
<p class="sub">{html.escape(institution)}: reclami e suggerimenti ricevuti e gestiti secondo la
Carta dei servizi</p>
<div class="tiles">{tile_html}</div>
{charts}
{detail_html(detail) if detail else ""}
<footer>Dati dal registro dei reclami ({f.cases} pratiche ricevute nel {f.year}); i giorni di
risposta escludono le sospensioni in attesa di informazioni dal cittadino.</footer>
</body></html>
"""


def write_pdf(f: Figures, institution: str, path: Path, detail: Detail | None = None) -> None:
    with PdfPages(path) as pdf:
        cover = plt.figure(figsize=(8.27, 11.69))  # A4
        timing = f"mediana {_days(f.median_days)}, 90° percentile {_days(f.p90_days)}"
        lines = [
            (f"Relazione annuale sui reclami {f.year}", 20, "bold"),
            (institution, 12, "normal"),
            ("", 12, "normal"),
            (f"Reclami ricevuti: {f.cases} ({f.previous_cases} nel {f.year - 1})", 12, "normal"),
            (f"Risposti entro il termine: {_share(f.within_term, f.cases)}", 12, "normal"),
            (f"Tempo di risposta: {timing}", 12, "normal"),
            (
                "Soddisfazione: "
                + (f"{f.satisfaction:.1f}/5 ({f.ratings} risposte)" if f.satisfaction else NONE),
                12,
                "normal",
            ),
            (f"Rimborsi dovuti: {f.refunds_eur:.2f} EUR ({f.refunds} pratiche)", 12, "normal"),
        ]
        for i, (text, size, weight) in enumerate(lines):
            cover.text(0.08, 0.92 - i * 0.04, text, fontsize=size, fontweight=weight)
        pdf.savefig(cover)
        plt.close(cover)
        if detail is not None:
            page = plt.figure(figsize=(8.27, 11.69))
            for i, text in enumerate(pdf_lines(detail)[:44]):
                page.text(0.08, 0.94 - i * 0.02, text, fontsize=9 if i else 14)
            pdf.savefig(page)
            plt.close(page)
        for make in (_months_chart, _category_chart, _office_chart):
            fig = make(f)
            pdf.savefig(fig)
            plt.close(fig)


def write(
    f: Figures, institution: str, directory: Path, detail: Detail | None = None
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / f"relazione-reclami-{f.year}.html"
    page.write_text(render_html(f, institution, detail), encoding="utf-8")
    pdf = directory / f"relazione-reclami-{f.year}.pdf"
    write_pdf(f, institution, pdf, detail)
    return page, pdf
