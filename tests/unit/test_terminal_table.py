"""`terminal.table` prints, character for character, what rich's `Table` printed before
(issue 32: the CLI's lists no longer load rich's console for a table): widths, spaces between
columns, ellipses, wide and zero-width characters, and the tables it still leaves to rich."""

from __future__ import annotations

import random
import subprocess
import sys
from typing import Any

import pytest

from mailbot import terminal

from support.app import REPO


def rich_table(columns: list[tuple[str, int | None]], rows: list[list[Any]]) -> str:
    """What `terminal.table` printed up to issue 32, rich doing all of it."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for header, width in columns:
        grid.add_column(header, max_width=width, no_wrap=True, overflow="ellipsis")
    for row in rows:
        grid.add_row(*(Text(terminal.safe("" if cell is None else str(cell))) for cell in row))
    console = Console(width=400, color_system=None, highlight=False, soft_wrap=False)
    with console.capture() as captured:
        console.print(grid)
    return "\n".join(line.rstrip() for line in captured.get().splitlines())


WORK_ORDERS = [("NUMBER", None), ("STATUS", 9), ("OFFICE", 12), ("DUE", 10), ("CONTACT", 34),
               ("SUBJECT", 60)]  # fmt: skip

FULLWIDTH = "\uff26\uff35\uff2c\uff2c\u3000\uff37\uff29\uff24\uff34\uff28"  # FULL WIDTH
SUBJECTS = [
    "Buche in via Roma",
    "Lampione spento " * 10,
    "\u8def\u706f\u574f\u4e86\uff0c\u8bf7\u5c3d\u5feb\u4fee\u7406" * 5,  # Chinese, wide
    "🚧 lavori 🚧 " * 8,
    "a\u202ebc\u200b",  # shown as <U+202E>, <U+200B>
    FULLWIDTH * 4,
    "  trailing  ",
    "",
    "con\ttab",
    "due\nrighe",
    "separatore\u2028di riga",
    "ab\x1b]0;titolo\x07cd",
]
CONTACTS = ["mario.rossi@example.net", "Giuseppe Verdi, tel. 333 1234567",
            "\u674e\u5c0f\u9f8d@\u4f8b\u5b50.\u4e2d\u56fd", "e\u0301e\u0301@example.net",
            "\u2764\ufe0f@example.net", "", None]  # fmt: skip
EXAMPLES = [
    [[f"2026/{n:06d}", status, office, "2026-04-01", contact, subject]]
    for n, (subject, contact, status, office) in enumerate(
        zip(
            SUBJECTS,
            CONTACTS * 2,
            ["open", "suspended", "closed", "void", None, ""] * 2,
            ["urp", "lavori-pubblici-e-manutenzione", ""] * 4,
            strict=False,
        )
    )
]


@pytest.mark.parametrize("rows", EXAMPLES)
def test_a_list_of_work_orders_prints_as_rich_printed_it(rows):
    assert terminal.table(WORK_ORDERS, rows) == rich_table(WORK_ORDERS, rows)


def test_a_table_wider_than_the_console_is_laid_out_as_rich_did():
    columns = [("ROLE", 12), ("MAY", None), ("MORE", None)]
    rows = [["admin", "x" * 300, "y" * 250], ["operator", "corto", "z"]]
    assert terminal.table(columns, rows) == rich_table(columns, rows)


PIECES = ["a", "Z", "9", " ", "  ", "è", "à", "ç", "ß", "ø", "-", "/", "@", ".", "…", "€", "—",
          "中", "文", "ｱ", "한", "😀", "🚧", "❤\ufe0f", "e\u0301", "\u0301", "\u3000", "\xa0",
          "\u200d", "\ufeff", "\u2630", "\u0903", "x" * 20, "parola "]  # fmt: skip


def test_random_tables_print_as_rich_printed_them():
    chance = random.Random(32)
    for _ in range(300):
        columns = [
            (
                chance.choice(["ID", "CASE", "NOME", "SUBJECT", "中文"]),
                chance.choice([None, 1, 3, 8, 20]),
            )
            for _ in range(chance.randint(1, 6))
        ]
        rows = [
            [
                None
                if chance.random() < 0.05
                else "".join(chance.choice(PIECES) for _ in range(chance.randint(0, 12)))
                for _ in columns
            ]
            for _ in range(chance.randint(0, 5))
        ]
        assert terminal.table(columns, rows) == rich_table(columns, rows), (columns, rows)


def test_a_plain_table_is_printed_without_loading_rich():
    script = (
        "import sys\n"
        "from mailbot import terminal\n"
        "print(terminal.table([('A', None), ('B', 5)], [['àè', 'lungo lungo'], [1, None]]))\n"
        "assert not any(name.split('.')[0] == 'rich' for name in sys.modules), 'rich loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "A   B\nàè  lung…\n1\n"
