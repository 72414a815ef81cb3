"""What the command line prints, made safe for the admin's terminal, and its tables.

Subjects, names and file names come from strangers' mail: an escape sequence in a subject
(`ESC ] 0 ; … BEL` retitles the window, others rewrite the screen), a bidi override or a
zero-width character must never act on the terminal or hide what a line says. Control
characters (C0 but tab and newline, C1) are dropped; bidi and invisible formatting characters
are shown as `<U+202E>`. JSON output keeps every character, escaped as `\\u202e`, so it still
round-trips.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_JSON_UNSAFE = re.compile(
    r"[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def safe(text: str) -> str:
    """The text with nothing in it that a terminal would act on or that would hide a part."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group(0)):04X}>", _CONTROLS.sub("", text))


def safe_json(value: Any) -> str:
    """Indented JSON, non-ASCII kept readable, terminal-active characters escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def table(columns: Sequence[tuple[str, int | None]], rows: Sequence[Sequence[Any]]) -> str:
    """A table with aligned columns; `(header, max width)` per column, None for no limit;
    long cells end in an ellipsis, never wrap. Returned as text for the caller to print.

    The text rich's `Table` (no box, no colour, 400 columns) printed, character for
    character (tests/unit/test_terminal_table.py compares the two), without loading rich's
    console (~0.1 s) or its per-cell renderables (~0.5 s for 1,000 rows): each column as wide
    as its widest cell up to its limit, two spaces between columns, a cell too long cut to
    the width less one and an ellipsis. Widths are terminal cells: text outside the
    single-cell scripts (CJK, emoji, combining marks) is measured and cut by rich's own cell
    table, exactly as before. A table rich would lay out otherwise — a cell with a tab or a
    line break, or wider in all than 400 columns — is still printed by rich."""
    texts = [[safe("" if cell is None else str(cell)) for cell in row] for row in rows]
    headers = [header for header, _ in columns]
    if any(_MULTILINE.search(text) for row in texts for text in row):
        return _rich_table(columns, texts)
    last = len(columns) - 1
    widths = []  # of each column's text, without the two spaces between columns
    for index, (header, limit) in enumerate(columns):
        pad = (index > 0) + (index < last)
        natural = max([_width(header), *(_width(row[index]) for row in texts)])
        widths.append(
            min(natural + pad, _CONSOLE_WIDTH, _BIG if limit is None else limit + pad) - pad
        )
    if sum(widths) + 2 * last > _CONSOLE_WIDTH:
        return _rich_table(columns, texts)
    lines = []
    for row in (headers, *texts):
        cells = (_fit(text, width) for text, width in zip(row, widths, strict=True))
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


_CONSOLE_WIDTH, _BIG = 400, 1 << 30
_MULTILINE = re.compile("[\t\n\u2028\u2029]")
# The characters rich itself counts one cell each without its table (rich/cells.py).
_SINGLE_CELL = re.compile("[\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]*")


def _width(text: str) -> int:
    if _SINGLE_CELL.fullmatch(text):
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _fit(text: str, width: int) -> str:
    """The text in exactly `width` cells: padded with spaces, or cut with an ellipsis."""
    if _SINGLE_CELL.fullmatch(text):
        size = len(text)
        return text + " " * (width - size) if size <= width else text[: width - 1] + "…"
    from rich.cells import cell_len, set_cell_size

    size = cell_len(text)
    return text + " " * (width - size) if size <= width else set_cell_size(text, width - 1) + "…"


def _rich_table(columns: Sequence[tuple[str, int | None]], texts: list[list[str]]) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header, width in columns:
        grid.add_column(header, max_width=width, no_wrap=True, overflow="ellipsis")
    for row in texts:
        grid.add_row(*(Text(text) for text in row))
    console = Console(width=_CONSOLE_WIDTH, color_system=None, highlight=False, soft_wrap=False)
    with console.capture() as captured:
        console.print(grid)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())
