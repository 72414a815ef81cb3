"""Refunds the charter owes (issue 18, item 6): a late reasoned reply or a founded complaint in
a category that carries one; money or a compensation in kind; exclusions by category; due →
paid (doubled past its term) | refused with a reason; in the register."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from mailbot.cases.operator import operator_action
from mailbot.models import Refund, WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config

OPERATOR = "mario.rossi@comune.example.it"
CATEGORIES = """
[[categories]]
id = "billing_error"
name = "Errore di fatturazione"
keywords = ["bolletta"]
refund_eur = 20
[[categories]]
id = "late_bus"
name = "Ritardo della corsa"
keywords = ["autobus"]
compensation = "un biglietto di corsa semplice gratuito"
[[categories]]
id = "force_majeure"
name = "Eventi eccezionali"
keywords = ["alluvione"]
no_refund = true
[[categories]]
id = "other"
name = "Altro"
"""


@pytest.fixture
def office(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f"[charter]\nrefund_pay_days = 20\nrefund_late_factor = 2\n{CATEGORIES}",
    )
    config.write_text(
        config.read_text().replace("response_days = 30\n", "response_days = 30\nrefund_eur = 25\n")
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


def _refunds(services, number: str) -> list[Refund]:
    with Session(services.engine) as session:
        wo = session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        return list(session.exec(select(Refund).where(Refund.work_order_id == wo.id)))


@pytest.mark.today("2026-03-11T09:00:00+00:00")  # a Wednesday
def test_late_and_founded_refunds_fall_due_as_the_charter_says(office, now):
    process = make_process(office)
    process(complaint(1, "Bolletta errata"), received_at=now - timedelta(days=40))  # late
    process(complaint(2, "Autobus in ritardo"), received_at=now - timedelta(days=1))
    process(complaint(3, "Alluvione, strada chiusa"), received_at=now - timedelta(days=40))
    process(complaint(4, "Una domanda"), received_at=now - timedelta(days=1))
    billing, bus, flood, other = (wo.number for wo in rows(office, WorkOrder))

    # Late and founded: the term's refund for the delay, the category's for the complaint.
    operator_action(office, billing, OPERATOR, "#esito fondato\n#risposta\nAvete ragione.")
    by_reason = {r.reason: r for r in _refunds(office, billing)}
    late, founded = by_reason["late"], by_reason["founded"]
    assert (late.amount_eur, late.state) == (25.0, "due")
    assert (founded.amount_eur, founded.state) == (20.0, "due")
    today = now.astimezone(office.settings.timezone).date()
    assert founded.pay_by == today + timedelta(days=20)
    with Session(office.engine) as session:
        assert (
            session.exec(select(WorkOrder).where(WorkOrder.number == billing)).one().refund_eur
            == 45
        )
    # A second founded finding owes nothing more.
    operator_action(office, billing, OPERATOR, "#esito fondato")
    assert len(_refunds(office, billing)) == 2

    # A compensation in kind, not money.
    operator_action(office, bus, OPERATOR, "#esito fondato\n#chiudi\nCi scusiamo.")
    [kind] = _refunds(office, bus)
    assert kind.compensation == "un biglietto di corsa semplice gratuito" and kind.amount_eur == 0

    # Excluded category: late and founded, yet nothing is owed.
    operator_action(office, flood, OPERATOR, "#esito fondato\n#risposta\nStrada riaperta.")
    assert _refunds(office, flood) == []

    # A founded refund still due goes when the finding changes; "infondato" owes nothing.
    operator_action(office, other, OPERATOR, "#categoria billing_error\n#esito fondato")
    [withdrawn] = _refunds(office, other)
    operator_action(office, other, OPERATOR, "#esito infondato")
    [withdrawn] = _refunds(office, other)
    assert withdrawn.state == "refused" and withdrawn.note == "esito: infondato"


@pytest.mark.today("2026-03-11T09:00:00+00:00")  # a Wednesday
def test_refunds_are_listed_paid_doubled_past_their_term_refused_and_in_the_register(office, now):
    process = make_process(office)
    process(complaint(1, "Bolletta errata"), received_at=now)
    process(complaint(2, "Bolletta doppia"), received_at=now)
    first, second = (wo.number for wo in rows(office, WorkOrder))
    for number in (first, second):
        operator_action(office, number, OPERATOR, "#esito fondato\n#chiudi\nRimborseremo.")
    config = str(office.settings.source_path)

    listed = run_cli("--config", config, "refunds", "list", "--state", "due", "--json")
    assert listed.returncode == 0, listed.stderr
    due = json.loads(listed.stdout)
    assert [(r["number"], r["owed_eur"], r["overdue"]) for r in due] == [
        (first, 20.0, False),
        (second, 20.0, False),
    ]
    # The first was not paid within its 20 days: it is owed twice over.
    with Session(office.engine) as session:
        refund = session.get(Refund, due[0]["id"])
        assert refund is not None
        refund.pay_by = now.date() - timedelta(days=1)
        session.add(refund)
        session.commit()
    table = run_cli("--config", config, "refunds", "list")
    assert "40.00 EUR" in table.stdout and "overdue" in table.stdout

    paid = run_cli(
        "--config", config, "refunds", "pay", str(due[0]["id"]), "--operator", OPERATOR,
        "--reference", "bolletta 2026/12",
    )  # fmt: skip
    assert paid.returncode == 0, paid.stderr
    assert "40.00 EUR" in paid.stdout
    again = run_cli("--config", config, "refunds", "pay", str(due[0]["id"]), "--operator", OPERATOR)
    assert again.returncode == 2 and "is paid already" in again.stderr

    no_reason = run_cli(
        "--config", config, "refunds", "refuse", str(due[1]["id"]), "--operator", OPERATOR
    )
    assert no_reason.returncode == 2 and "needs its reason" in no_reason.stderr
    refused = run_cli(
        "--config", config, "refunds", "refuse", str(due[1]["id"]), "--operator", OPERATOR,
        "--reason", "già rimborsato in bolletta",
    )  # fmt: skip
    assert refused.returncode == 0, refused.stderr
    wrong = run_cli("--config", config, "refunds", "list", "--state", "owed")
    assert wrong.returncode == 2 and "'owed' is not one of" in wrong.stderr

    shown = run_cli("--config", config, "workorders", "show", first)
    assert "Outcome: fondato" in shown.stdout and "Refund" in shown.stdout

    year = first[:4]
    register = run_cli("--config", config, "report", "register", "--year", year)
    lines = {
        r["Pratica"]: r
        for r in csv.DictReader(io.StringIO(register.stdout.lstrip("\ufeff")), delimiter=";")
    }
    assert lines[first]["Stato rimborso"] == "pagato"
    assert lines[first]["Rimborso pagato (EUR)"] == "40,00"  # Italian decimals
    assert lines[second]["Stato rimborso"] == "rifiutato"
    assert lines[second]["Rimborso dovuto (EUR)"] == "0,00"
