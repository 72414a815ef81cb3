"""The back office's register and reports (`/registro`): supervisors and admins read everyone's,
a desk only the cases it opened, an operator gets 403; the register, its CSV and the annual
report are the command line's own (`report register`, `report annual`), the CSV neutralised
against formulas; refunds and corrective actions are those of the cases shown."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from mailbot.admin import annual, annual_detail, reports
from mailbot.cases.access import reports_scope
from mailbot.cases.operator import operator_action
from mailbot.models import WorkOrder
from mailbot.roles import Member

from support.app import complaint, make_process, make_services, run_cli, write_config
from support.backoffice import office_client, sign_in

OPERATOR = "mario.rossi@comune.example.it"
SUPERVISOR = "urp.centro@comune.example.it"
ADMIN = "sistemi@comune.example.it"
DESK = "anna.bianchi@comune.example.it"
STAFF = f"""
[[categories]]
id = "billing_error"
name = "Errore di fatturazione"
keywords = ["bolletta"]
refund_eur = 20
[[desks]]
id = "bari"
name = "Sportello di Bari"
email = "sportello.bari@comune.example.it"
[[desks]]
id = "lecce"
name = "Sportello di Lecce"
email = "sportello.lecce@comune.example.it"
[[staff]]
email = "{SUPERVISOR}"
name = "URP centrale"
roles = ["supervisor"]
[[staff]]
email = "{ADMIN}"
roles = ["admin"]
[[staff]]
email = "{DESK}"
name = "Anna Bianchi"
roles = ["desk"]
desks = ["bari"]
[[offices]]
id = "tributi"
name = "Ufficio Tributi"
email = "tributi@comune.example.it"
response_days = 30
[backoffice]
listen = "127.0.0.1:8026"
"""
TODAY = "2026-03-11T09:00:00+00:00"


@pytest.fixture
def office(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", transport="directory", extra=STAFF)
    services = make_services(config)
    yield services
    services.engine.dispose()


@pytest.fixture
def cases(office, now):
    """Four cases of 2026: a founded billing complaint with a corrective action (urp), one
    opened by the Bari desk, one of the tax office, one whose author's name is a formula."""
    process = make_process(office)
    process(complaint(1, "Bolletta errata"))
    process(complaint(2, "Buca in via Roma"))
    process(complaint(3, "Tassa rifiuti"))
    process(complaint(4).replace(b"Cittadino 4", b"=HYPERLINK(1)"))
    with Session(office.engine) as session:
        found = list(session.exec(select(WorkOrder).order_by(WorkOrder.id)))
        found[1].desk = "bari"
        found[2].office = "tributi"
        session.add_all(found)
        session.commit()
        numbers = [wo.number for wo in found]
    operator_action(
        office, numbers[0], OPERATOR, "#esito fondato\n#azione Verifica delle letture\n#chiudi\nOk."
    )
    return numbers


def client_as(office, address: str | None):
    client = office_client(office)
    if address:
        sign_in(client, office, address)
    return client


def numbers_on(page: str) -> set[str]:
    return set(re.findall(r'<th scope="row" class="number"><a href="[^"]+">([^<]+)</a>', page))


def test_the_scope_comes_from_the_role_table():
    assert reports_scope(Member(("a@x.it",), roles=frozenset({"supervisor"}))).everyone
    assert reports_scope(Member(("a@x.it",), roles=frozenset({"admin"}))).everyone
    desk = reports_scope(Member(("a@x.it",), roles=frozenset({"desk"}), desks=("bari",)))
    assert desk.desks == ("bari",) and not desk.everyone
    operator = Member(("a@x.it",), roles=frozenset({"operator", "responsible"}), offices=("x",))
    assert not reports_scope(operator).any and not reports_scope(None).any


@pytest.mark.today(TODAY)
def test_who_reads_the_register(office, cases):
    for address in (SUPERVISOR, ADMIN):
        page = client_as(office, address).get("/registro")
        assert page.status_code == 200
        assert numbers_on(page.get_data(as_text=True)) == set(cases)
    own = client_as(office, DESK).get("/registro").get_data(as_text=True)
    assert numbers_on(own) == {cases[1]}
    for path in ("/registro", "/registro.csv", "/registro/relazione", "/registro/relazione.pdf"):
        assert client_as(office, OPERATOR).get(path).status_code == 403
        assert client_as(office, DESK).get(path + "?sportello=lecce").status_code == 400
        anonymous = client_as(office, None).get(path)
        assert anonymous.status_code == 303 and "/accesso?next=" in anonymous.headers["Location"]


@pytest.mark.today(TODAY)
def test_the_csv_is_the_command_lines_register(office, cases):
    config = str(office.settings.source_path)
    for address, desk in ((SUPERVISOR, ""), (DESK, "bari")):
        got = client_as(office, address).get("/registro.csv?anno=2026")
        assert got.status_code == 200 and got.mimetype == "text/csv"
        assert "attachment" in got.headers["Content-Disposition"]
        cli = run_cli("--config", config, "report", "register", "--year", "2026",
                      *(("--desk", desk) if desk else ()))  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert got.get_data(as_text=True).replace("\r\n", "\n") == cli.stdout  # text mode
    text = client_as(office, SUPERVISOR).get("/registro.csv").get_data(as_text=True)
    assert ";'=HYPERLINK" in text and ";=HYPERLINK" not in text  # neutralised
    assert "Verifica" not in text.split(cases[1])[1].split("\n")[0]


@pytest.mark.today(TODAY)
def test_filters_narrow_the_register_and_bad_ones_come_back_with_a_message(office, cases):
    client = client_as(office, SUPERVISOR)
    tax = client.get("/registro?anno=2026&ufficio=tributi").get_data(as_text=True)
    assert numbers_on(tax) == {cases[2]}
    assert 'href="/registro.csv?anno=2026&amp;ufficio=tributi"' in tax  # the CSV of what is shown
    narrowed = client.get("/registro.csv?anno=2026&ufficio=tributi").get_data(as_text=True)
    assert cases[2] in narrowed and cases[0] not in narrowed
    bari = client.get("/registro?sportello=bari").get_data(as_text=True)
    assert numbers_on(bari) == {cases[1]}
    assert numbers_on(client.get("/registro?anno=2025").get_data(as_text=True)) == set()
    bad = client.get("/registro?anno=19x&ufficio=nessuno")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'role="alert"' in page
    assert "Anno non valido" in page and "Ufficio sconosciuto" in page
    assert 'aria-invalid="true"' in page and numbers_on(page) == set(cases)  # the defaults


@pytest.mark.today(TODAY)
def test_refunds_and_actions_are_those_of_the_cases_shown(office, cases):
    everyone = client_as(office, SUPERVISOR).get("/registro").get_data(as_text=True)
    refunds = everyone.split('id="refunds-title"')[1].split("</section>")[0]
    actions = everyone.split('id="actions-title"')[1]
    assert cases[0] in refunds and "20,00 EUR" in refunds and "dovuto" in refunds
    assert "Verifica delle letture" in actions and "da verificare" in actions
    own = client_as(office, DESK).get("/registro").get_data(as_text=True)
    assert "Nessun rimborso" in own and "Verifica delle letture" not in own


@pytest.mark.today(TODAY)
def test_the_annual_report_is_the_command_lines(office, cases):
    page = client_as(office, SUPERVISOR).get("/registro/relazione?anno=2026")
    assert page.status_code == 200
    # Its own policy: the charts' style attributes, and nothing to run or fetch.
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "style-src 'unsafe-inline'" in policy
    assert "script" not in policy and "nonce" not in policy
    others = client_as(office, SUPERVISOR).get("/registro").headers["Content-Security-Policy"]
    assert "script-src 'self'" in others and "'nonce-" in others  # every other page: the usual
    shown = page.get_data(as_text=True)
    with Session(office.engine) as session:  # what `report annual` writes (cli/reports.py)
        rows = reports.register(session, office.settings, office.clock, 2026)
        previous = reports.register(session, office.settings, office.clock, 2025)
        detail = annual_detail.detail(session, 2026, rows, None)
    expected = annual.render_html(
        annual.figures(2026, rows, previous), office.composer.institution, detail
    )
    # The charts' drawings carry their time and random ids; their data tables stay.
    stamp = re.compile(r"<svg.*?</svg>", re.DOTALL)
    assert stamp.sub("", shown) == stamp.sub("", expected)
    assert "Relazione annuale sui reclami 2026" in shown
    own = client_as(office, DESK).get("/registro/relazione").get_data(as_text=True)
    tile = re.search(r'Reclami ricevuti</dt><dd class="value">(\d+)<', own)
    assert tile is not None and tile.group(1) == "1"
    saved = client_as(office, DESK).get("/registro/relazione?scarica=1")
    assert saved.headers["Content-Disposition"] == (
        'attachment; filename="relazione-reclami-2026.html"'
    )


@pytest.mark.today(TODAY)
def test_the_annual_report_as_a_pdf(office, cases):
    got = client_as(office, SUPERVISOR).get("/registro/relazione.pdf?anno=2026")
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert got.get_data().startswith(b"%PDF")


@pytest.mark.today(TODAY)
def test_the_page_in_english(office, cases):
    client = client_as(office, ADMIN)
    client.get("/lingua/en")
    page = client.get("/registro").get_data(as_text=True)
    assert "Complaints register 2026" in page and '<th scope="col">Received on</th>' in page
    assert "4 case(s) received in 2026" in page


@pytest.mark.today(TODAY)
def test_the_register_is_shown_a_page_at_a_time(office, cases, monkeypatch):
    from mailbot.backoffice import reports as pages

    monkeypatch.setattr(pages, "PAGE_ROWS", 3)
    client = client_as(office, SUPERVISOR)
    first = client.get("/registro").get_data(as_text=True)
    assert numbers_on(first) == set(cases[:3]) and "Pagina 1 di 2" in first
    assert 'href="/registro?anno=2026&amp;pagina=2" rel="next"' in first
    second = client.get("/registro?anno=2026&pagina=2").get_data(as_text=True)
    assert numbers_on(second) == {cases[3]} and 'rel="prev"' in second
    assert numbers_on(client.get("/registro?pagina=9").get_data(as_text=True)) == set(cases[:3])
