"""The register and the SLA list (issue 7, part 5, and `report sla`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from mailbot.cases.operator import operator_action
from mailbot.models import WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"


@pytest.fixture
def office(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=(
            '[[categories]]\nid = "billing_error"\nname = "Errore di fatturazione"\n'
            'keywords = ["bolletta"]\n[[categories]]\nid = "other"\nname = "Altro"\n'
        ),
    )
    config.write_text(
        config.read_text().replace(
            "response_days = 30\n",
            'response_days = 30\n[[offices.terms]]\ncategory = "billing_error"\ndays = 15\n'
            "refund_eur = 20\n",
        )
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


def _register(office, year="2026"):
    result = run_cli(
        "--config", str(office.settings.source_path), "report", "register", "--year", year
    )
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    return {r["Pratica"]: r for r in table}, result


@pytest.mark.today("2026-03-11T09:00:00+00:00")  # a Wednesday
def test_register_lists_every_case_of_the_year_with_term_and_refund(office, now):
    process = make_process(office)
    process(complaint(1, "Bolletta errata"), received_at=now - timedelta(days=40))  # late
    process(complaint(2), received_at=now - timedelta(days=2))  # answered in time
    process(complaint(3), received_at=now - timedelta(days=1))  # still open
    late, on_time, waiting = rows(office, WorkOrder)
    operator_action(
        office, late.number, OPERATOR, "#protocollo 2026/100\n#risposta\nLa bolletta è corretta."
    )
    operator_action(office, on_time.number, OPERATOR, "#chiudi\nRisolto, grazie.")
    config = str(office.settings.source_path)
    by_number, _ = _register(office)
    assert set(by_number) == {late.number, on_time.number, waiting.number}
    first = by_number[late.number]
    assert first["Categoria"] == "Errore di fatturazione"
    assert first["Protocollo"] == "2026/100"
    assert first["Entro il termine"] == "no" and first["Rimborso dovuto (EUR)"] == "20,00"
    # received Friday 30 January 2026, answered Wednesday 11 March: 40 days
    assert first["Data di ricezione"] == "30/01/2026" and first["Giorni impiegati"] == "40"
    assert first["Ufficio"] == "Ufficio Relazioni con il Pubblico"
    assert first["Canale"] == "e-mail" and first["Risposta motivata"] == "11/03/2026"
    second = by_number[on_time.number]
    assert second["Entro il termine"] == "sì" and second["Stato"] == "chiusa"
    assert second["Rimborso dovuto (EUR)"] == "0,00" and second["Data chiusura"] == "11/03/2026"
    third = by_number[waiting.number]
    assert third["Entro il termine"] == "" and third["Risposta motivata"] == ""
    assert third["Stato"] == "aperta" and third["Scadenza"] == "09/04/2026"

    out = office.settings.storage.path.parent / "registro.xlsx"
    year = waiting.number[:4]
    made = run_cli(
        "--config",
        config,
        "report",
        "register",
        "--year",
        year,
        "--format",
        "xlsx",
        "--out",
        str(out),
    )
    assert made.returncode == 0, made.stderr
    sheet = load_workbook(out).active
    values = list(sheet.values)
    assert values[0][0] == "Pratica"
    assert {v[0] for v in values[1:]} == {late.number, on_time.number, waiting.number}
    header = list(values[0])
    late_row = next(v for v in values[1:] if v[0] == late.number)
    # real dates and numbers, not texts: the spreadsheet sorts and sums them
    assert late_row[header.index("Data di ricezione")] == datetime(2026, 1, 30)
    assert late_row[header.index("Rimborso dovuto (EUR)")] == 20.0
    cell = sheet.cell(2 + [v[0] for v in values[1:]].index(late.number), 2)
    assert cell.number_format == "DD/MM/YYYY"

    bad = run_cli("--config", config, "report", "register", "--year", "2026", "--format", "xlsx")
    assert bad.returncode == 2 and "--format xlsx needs --out" in bad.stderr


def test_sla_lists_waiting_cases_soonest_first(office):
    process = make_process(office)
    # Wednesday 11 March 2026: the overdue case was received on Monday 26 January, its 30
    # days ended on Wednesday 25 February; the fresh one, received on the 10th, is due 9 April.
    with today_is(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)) as now:
        process(complaint(1), received_at=now - timedelta(days=5))
        process(complaint(2), received_at=now - timedelta(days=44))  # overdue
        process(complaint(3), received_at=now - timedelta(days=1))
        answered = rows(office, WorkOrder)[0]
        operator_action(office, answered.number, OPERATOR, "#interlocutoria\nStiamo verificando.")
        config = str(office.settings.source_path)
        assert len(run_cli("--config", config, "report", "sla").stdout.splitlines()) == 1 + 3
        operator_action(office, answered.number, OPERATOR, "#risposta\nEcco la risposta.")
        result = run_cli("--config", config, "report", "sla")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()[1:]  # under the header
    assert len(lines) == 2  # the answered case is no longer waiting
    _, overdue, fresh = rows(office, WorkOrder)
    tz = office.settings.timezone
    assert overdue.due_at.astimezone(tz).date() == date(2026, 2, 25)
    assert fresh.due_at.astimezone(tz).date() == date(2026, 4, 9)
    assert lines[0].startswith(overdue.number) and "LATE by 14 day(s)" in lines[0]
    assert lines[1].startswith(fresh.number) and "29 day(s) left" in lines[1]


def _void(office, number: str, reason: str) -> None:
    """What `workorders void` records (its own helper and tests are in cases/workorders)."""
    with Session(office.engine) as session:
        case = session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        case.voided_at, case.void_reason = datetime(2026, 3, 10, 8, tzinfo=UTC), reason
        case.voided_by = "admin@comune.example.it"
        session.add(case)
        session.commit()


def test_a_voided_case_stays_in_the_register_as_annullata_and_leaves_sla_and_totals(office):
    process = make_process(office)
    with today_is(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)) as now:
        process(complaint(1), received_at=now - timedelta(days=44))  # overdue
        process(complaint(2), received_at=now - timedelta(days=3))
        overdue, fresh = rows(office, WorkOrder)
        _void(office, overdue.number, "Mail di un operatore presa per un reclamo")
        by_number, result = _register(office)
        sla = run_cli("--config", str(office.settings.source_path), "report", "sla")
    voided = by_number[overdue.number]  # the numbering keeps it: no gap
    assert voided["Stato"] == "annullata"
    assert voided["Motivo dell'annullamento"] == "Mail di un operatore presa per un reclamo"
    assert voided["Entro il termine"] == "" and voided["Giorni impiegati"] == ""
    assert by_number[fresh.number]["Stato"] == "aperta"
    assert by_number[fresh.number]["Motivo dell'annullamento"] == ""
    assert "2 case(s) in the 2026 register (1 voided" in result.stderr
    assert sla.returncode == 0, sla.stderr
    assert overdue.number not in sla.stdout and fresh.number in sla.stdout
    assert "1 case(s) waiting" in sla.stderr


def test_sla_has_a_header_row_over_its_columns_and_json_has_none(office):
    process = make_process(office)
    with today_is(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)):
        process(complaint(1, "Bolletta errata"), received_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
        config = str(office.settings.source_path)
        text = run_cli("--config", config, "report", "sla")
        as_json = run_cli("--config", config, "report", "sla", "--json")
    header, line = text.stdout.splitlines()
    assert header.split() == ["NUMBER", "STATUS", "OFFICE", "DUE", "LEFT", "SUBJECT"]
    assert line.split()[0] == "2026/000001"
    # the columns line up under their names
    assert line.index("open") == header.index("STATUS")
    assert line.index("2026-03-17") == header.index("DUE")
    assert line.index("Bolletta") == header.index("SUBJECT")
    assert [r["number"] for r in json.loads(as_json.stdout)] == ["2026/000001"]


def test_register_neutralises_what_a_spreadsheet_would_run_as_a_formula(office):
    make_process(office)(complaint(1, '=HYPERLINK("http://x.example")'))
    with Session(office.engine) as session:
        case = session.exec(select(WorkOrder)).one()
        case.protocollo = "+39 in arrivo"
        session.add(case)
        session.commit()
    with today_is(datetime(2026, 3, 11, 9, 0, tzinfo=UTC)):
        by_number, _ = _register(office)
    assert by_number["2026/000001"]["Protocollo"] == "'+39 in arrivo"
