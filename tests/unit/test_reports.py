"""The register and the SLA list (issue 7, part 5, and `report sla`)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

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


def test_register_lists_every_case_of_the_year_with_term_and_refund(office):
    process = make_process(office)
    now = datetime.now(UTC)
    process(complaint(1, "Bolletta errata"), received_at=now - timedelta(days=40))  # late
    process(complaint(2), received_at=now - timedelta(days=2))  # answered in time
    process(complaint(3), received_at=now - timedelta(days=1))  # still open
    late, on_time, waiting = rows(office, WorkOrder)
    operator_action(
        office, late.number, OPERATOR, "#protocollo 2026/100\n#risposta\nLa bolletta è corretta."
    )
    operator_action(office, on_time.number, OPERATOR, "#chiudi\nRisolto, grazie.")
    config = str(office.settings.source_path)

    table = []
    for year in sorted({wo.number[:4] for wo in (late, on_time, waiting)}):  # in January: two
        result = run_cli("--config", config, "report", "register", "--year", year)
        assert result.returncode == 0, result.stderr
        text = result.stdout.lstrip("\ufeff")
        table += list(csv.DictReader(io.StringIO(text), delimiter=";"))
    by_number = {r["Pratica"]: r for r in table}
    assert set(by_number) == {late.number, on_time.number, waiting.number}
    first = by_number[late.number]
    assert first["Categoria"] == "Errore di fatturazione"
    assert first["Protocollo"] == "2026/100"
    assert first["Entro il termine"] == "no" and first["Rimborso dovuto (EUR)"] == "20.0"
    tz = office.settings.timezone
    days = (now.astimezone(tz).date() - (now - timedelta(days=40)).astimezone(tz).date()).days
    assert first["Giorni impiegati"] == str(days)  # local days: 39 across a DST change
    second = by_number[on_time.number]
    assert second["Entro il termine"] == "sì" and second["Stato"] == "chiusa"
    assert second["Rimborso dovuto (EUR)"] == "0.0" and second["Data chiusura"]
    third = by_number[waiting.number]
    assert third["Entro il termine"] == "" and third["Risposta motivata"] == ""

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
    expected = {wo.number for wo in (late, on_time, waiting) if wo.number.startswith(year)}
    assert {v[0] for v in values[1:]} == expected

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
        assert len(run_cli("--config", config, "report", "sla").stdout.splitlines()) == 3
        operator_action(office, answered.number, OPERATOR, "#risposta\nEcco la risposta.")
        result = run_cli("--config", config, "report", "sla")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2  # the answered case is no longer waiting
    _, overdue, fresh = rows(office, WorkOrder)
    tz = office.settings.timezone
    assert overdue.due_at.astimezone(tz).date() == date(2026, 2, 25)
    assert fresh.due_at.astimezone(tz).date() == date(2026, 4, 9)
    assert lines[0].startswith(overdue.number) and "LATE by 14 day(s)" in lines[0]
    assert lines[1].startswith(fresh.number) and "29 day(s) left" in lines[1]
