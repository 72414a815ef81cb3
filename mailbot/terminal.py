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
    long cells end in an ellipsis, never wrap. Returned as text for the caller to print."""
    from rich.console import Console  # ~0.1 s: only commands that print a table pay for it
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header, width in columns:
        grid.add_column(header, max_width=width, no_wrap=True, overflow="ellipsis")
    for row in rows:
        grid.add_row(*(Text(safe("" if cell is None else str(cell))) for cell in row))
    console = Console(width=400, color_system=None, highlight=False, soft_wrap=False)
    with console.capture() as captured:
        console.print(grid)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())
