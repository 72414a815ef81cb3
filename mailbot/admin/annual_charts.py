"""The annual report's three charts (cases per month, by category, by office), each an HTML
`<figure>`: the chart as inline SVG, a caption, and the same figures as a data table, the
chart's text alternative (a screen reader, a narrow phone and the tagged PDF read the table).

Charts are drawn with matplotlib (its non-interactive Agg/SVG back end); numbers in the tables
are Italian (see `italian`).
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from mailbot.admin import italian

MONTHS = ("gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic")
MONTH_NAMES = (
    *("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno"),
    *("luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"),
)
BLUE, GREY, GREEN = "#1f5fa8", "#b8c2cc", "#2e8b57"
OfficeRow = tuple[str, int, int, int]  # office name, cases, decided (answered or due), within


def months(year: int, per_month: Sequence[int], previous: Sequence[int]) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = range(12)
    ax.bar([i - 0.2 for i in x], previous, 0.4, color=GREY, label=str(year - 1))
    ax.bar([i + 0.2 for i in x], per_month, 0.4, color=BLUE, label=str(year))
    ax.set_xticks(list(x), MONTHS)
    ax.legend(frameon=False)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no "2.5" (an English decimal)
    _tidy(ax)
    rows = [
        [name, str(before), str(now)]
        for name, before, now in zip(MONTH_NAMES, previous, per_month, strict=True)
    ]
    rows.append(["totale", str(sum(previous)), str(sum(per_month))])
    return _figure(
        fig,
        "Reclami ricevuti per mese",
        f"Reclami ricevuti per mese nel {year} e nel {year - 1}.",
        ["mese", str(year - 1), str(year)],
        rows,
    )


def categories(by_category: Sequence[tuple[str, int]], cases: int) -> str:
    items = list(reversed(by_category[:12]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(items) + 1.2))
    ax.barh([name for name, _ in items], [n for _, n in items], color=BLUE)
    for i, (_, n) in enumerate(items):
        ax.text(n, i, f" {n}", va="center", fontsize=9)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _tidy(ax)
    return _figure(
        fig,
        "Reclami per categoria",
        "Reclami per categoria, dalla più frequente.",
        ["categoria", "reclami", "quota"],
        [[name, str(n), italian.share(n, cases)] for name, n in by_category],
    )


def offices(by_office: Sequence[OfficeRow]) -> str:
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(by_office) + 1.6))
    names = [o[0] for o in by_office][::-1]
    ax.barh(names, [o[1] for o in by_office][::-1], color=GREY, label="ricevuti")
    ax.barh(names, [o[3] for o in by_office][::-1], color=GREEN, label="risposti entro il termine")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _tidy(ax)
    return _figure(
        fig,
        "Per ufficio: ricevuti e risposti entro il termine",
        "Per ufficio: reclami ricevuti e risposti entro il termine. La quota è calcolata sulle "
        "pratiche con risposta o con il termine già scaduto.",
        ["ufficio", "ricevuti", "con risposta o termine scaduto", "entro il termine", "quota"],
        [
            [name, str(n), str(decided), str(within), italian.share(within, decided)]
            for name, n, decided, within in by_office
        ],
    )


def _tidy(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.figure.tight_layout()


def _svg(fig: Figure, label: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    text = buffer.getvalue()
    svg = text[text.index("<svg") :]  # inline: without the XML prolog and doctype
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(label)}" ', 1)


def _figure(fig: Figure, title: str, caption: str, head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in head)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{html.escape(row[0])}</th>'
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    empty = f'<tr><td colspan="{len(head)}">nessun dato</td></tr>'
    return (
        f'<figure class="chart"><h2>{html.escape(title)}</h2>'
        f'<div class="plot">{_svg(fig, title + ": i dati sono nella tabella che segue")}</div>'
        f"<figcaption>{html.escape(caption)}</figcaption>"
        f'<div class="table"><table><thead><tr>{header}</tr></thead>'
        f"<tbody>{body or empty}</tbody></table></div></figure>"
    )
