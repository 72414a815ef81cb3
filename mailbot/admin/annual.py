"""The annual report the service charter asks for: a self-contained HTML page (charts inline as
SVG, each with its data table; no external file or script) and the same page as a tagged PDF,
written for a council member and published by the municipality.

Cases per month (against the previous year), by category and by office, the share answered
within the term, median and 90th-percentile days to a reasoned reply, satisfaction, refunds due;
then the detail tables of `annual_detail` (kind, channel, outcomes, rate per user base, refunds,
suggestions, corrective actions, questionnaire). The share answered within the term counts
only the cases that were answered or whose term has ended: a case still in its term is neither.
Figures come from the register rows (`reports.register`), so the report and the register never
disagree; a voided case (opened in error) counts in none of them. Numbers are Italian
("1.234,56 €", "12,5%"); the PDF is the page itself, rendered by `pdf_render`.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.admin import annual_charts, italian, pdf_render
from mailbot.admin.annual_charts import BLUE, OfficeRow
from mailbot.admin.annual_detail import Detail
from mailbot.admin.annual_detail import render_html as detail_html

NONE = italian.NONE


@dataclass(frozen=True)
class Figures:
    year: int
    cases: int
    previous_cases: int
    answered: int
    decided: int  # answered, or not answered and the term has ended
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
    by_office: list[OfficeRow]  # office name, cases, decided, answered within term


def counted(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The register rows every figure counts: all but the voided cases."""
    return [r for r in rows if not r["voided"]]


def figures(
    year: int, rows: Sequence[dict[str, Any]], previous: Sequence[dict[str, Any]]
) -> Figures:
    rows, previous = counted(rows), counted(previous)
    answered = [r for r in rows if r["reasoned_reply_on"]]
    days = sorted(int(r["days_taken"]) for r in answered)
    ratings = [int(r["satisfaction"]) for r in rows if r["satisfaction"] != ""]
    refunds = [float(r["refund_eur"]) for r in rows if float(r["refund_eur"]) > 0]
    offices: dict[str, list[int]] = {}
    for r in rows:
        counts = offices.setdefault(r["office"], [0, 0, 0])
        counts[0] += 1
        counts[1] += r["within_term"] != ""  # "" : not answered and still in its term
        counts[2] += r["within_term"] == "sì"
    return Figures(
        year=year,
        cases=len(rows),
        previous_cases=len(previous),
        answered=len(answered),
        decided=sum(r["within_term"] != "" for r in rows),
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
        by_office=sorted(
            ((o, c[0], c[1], c[2]) for o, c in offices.items()), key=lambda x: (-x[1], x[0])
        ),
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


def _cases(n: int) -> str:
    return f"{n} pratica" if n == 1 else f"{n} pratiche"


def _days(value: float | None) -> str:
    return f"{italian.number(value)} giorni" if value is not None else NONE


def _tiles(f: Figures) -> str:
    change = (
        f"{italian.change((f.cases - f.previous_cases) / f.previous_cases)} "
        f"rispetto al {f.year - 1}"
        if f.previous_cases
        else f"nessun dato per il {f.year - 1}"
    )
    tiles = [
        ("Reclami ricevuti", str(f.cases), change),
        (
            "Risposti entro il termine",
            italian.share(f.within_term, f.decided),
            f"{f.within_term} su {f.decided}: le pratiche con risposta o con il termine già "
            "scaduto (non quelle ancora nel termine)",
        ),
        ("Tempo di risposta", _days(f.median_days), f"mediana; il 90% entro {_days(f.p90_days)}"),
        (
            "Soddisfazione",
            f"{italian.decimal(f.satisfaction)} / 5" if f.satisfaction is not None else NONE,
            f"{f.ratings} risposte",
        ),
        ("Rimborsi dovuti", italian.money(f.refunds_eur), _cases(f.refunds)),
    ]
    return "".join(
        f'<div class="tile"><dt class="label">{html.escape(a)}</dt>'
        f'<dd class="value">{html.escape(b)}</dd><dd class="note">{html.escape(c)}</dd></div>'
        for a, b, c in tiles
    )


STYLE = f"""
@page {{ size: A4; margin: 1.8cm 1.6cm; }}
html {{ -webkit-text-size-adjust: 100%; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #1d2733; line-height: 1.45; overflow-wrap: break-word; }}
h1 {{ font-size: 1.7rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.25rem; margin: 1.6rem 0 .4rem; }}
h3 {{ font-size: 1.05rem; margin: 1.2rem 0 .3rem; }}
.sub {{ color: #5b6875; margin-top: 0; }}
.tiles {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr));
         gap: .8rem; margin: 1.5rem 0; padding: 0; }}
.tile {{ border: 1px solid #d6dde4; border-radius: .5rem; padding: .8rem; }}
.tile dd {{ margin: 0; }}
.label {{ font-size: .8rem; color: #5b6875; }}
.value {{ font-size: 1.6rem; font-weight: bold; color: {BLUE}; }}
.note {{ font-size: .75rem; color: #5b6875; }}
figure {{ margin: 0 0 1.5rem; }}
figcaption {{ font-size: .85rem; color: #5b6875; margin: .3rem 0; }}
.plot svg {{ width: 100%; height: auto; max-width: 100%; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; max-width: 100%; }}
td, th {{ border-bottom: 1px solid #d6dde4; padding: .2rem .6rem .2rem 0; text-align: left;
         vertical-align: top; overflow-wrap: break-word; hyphens: manual; }}
td {{ font-variant-numeric: tabular-nums; }}
thead th {{ font-size: .85rem; color: #5b6875; }}
footer {{ font-size: .8rem; color: #5b6875; margin-top: 2rem; }}
@media screen and (max-width: 30rem) {{
  body {{ margin: 1rem auto; padding: 0 .6rem; }}
  h1 {{ font-size: 1.35rem; }}
  table {{ width: 100%; }}
  td, th {{ padding-right: .35rem; font-size: .85rem; }}
}}
@media print {{
  body {{ margin: 0; max-width: none; padding: 0; font-size: 10pt; }}
  .tiles {{ grid-template-columns: repeat(3, 1fr); }}
  table {{ width: 100%; }}
  figure, table, .tile {{ break-inside: avoid; }}
  h2, h3 {{ break-after: avoid; }}
}}
"""


def render_html(f: Figures, institution: str, detail: Detail | None = None) -> str:
    charts = (
        annual_charts.months(f.year, f.per_month, f.previous_per_month)
        + annual_charts.categories(f.by_category, f.cases)
        + annual_charts.offices(f.by_office)
    )
    title = f"Relazione annuale sui reclami {f.year}"
    return f"""<!DOCTYPE html>
<html lang="it"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: {html.escape(institution)}</title>
<meta name="author" content="{html.escape(institution)}">
<style>{STYLE}</style></head><body>
<header><h1>{title}</h1>
<p class="sub">{html.escape(institution)}: reclami e suggerimenti ricevuti e gestiti secondo la
Carta dei servizi</p></header>
<main>
<dl class="tiles">{_tiles(f)}</dl>
{charts}
{detail_html(detail) if detail else ""}
</main>
<footer>Dati dal registro dei reclami ({f.cases} pratiche ricevute nel {f.year}, escluse le
pratiche annullate perché aperte per errore); i giorni di risposta escludono le sospensioni in
attesa di informazioni dal cittadino.</footer>
</body></html>
"""


def write(
    f: Figures, institution: str, directory: Path, detail: Detail | None = None
) -> tuple[Path, Path]:
    """The page and the same page as a tagged PDF, side by side in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    text = render_html(f, institution, detail)
    page = directory / f"relazione-reclami-{f.year}.html"
    page.write_text(text, encoding="utf-8")
    pdf = directory / f"relazione-reclami-{f.year}.pdf"
    pdf_render.html_to_pdf(text, pdf, directory)
    return page, pdf
