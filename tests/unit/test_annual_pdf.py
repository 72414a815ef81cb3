"""The annual report's figures and documents (issue 27, items 7 and 8): the share answered within
the term counts only cases answered or past their term; voided cases count nowhere; the PDF is
the HTML page rendered by WeasyPrint, in Italian formats, with office names, a title and tags;
each chart has its data table."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlmodel import Session, select

from mailbot.admin import annual, annual_detail, pdf_render, reports
from mailbot.models import SurveyResponse, WorkOrder

from support.app import complaint, make_process, make_services, run_cli, write_config
from support.clock import today_is

TODAY = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def office(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra='[[categories]]\nid = "billing_error"\nname = "Errore di fatturazione"\n'
        'keywords = ["bolletta"]\n',
    )
    services = make_services(config)
    yield services
    services.engine.dispose()


def _cases(office, *received: datetime) -> list[WorkOrder]:
    process = make_process(office)
    for n, when in enumerate(received, start=1):
        process(complaint(n, "Bolletta errata" if n == 1 else ""), received_at=when)
    with Session(office.engine) as session:
        return list(session.exec(select(WorkOrder).order_by(WorkOrder.id)))


def _update(office, number: str, **values) -> None:
    with Session(office.engine) as session:
        case = session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()
        for key, value in values.items():
            setattr(case, key, value)
        session.add(case)
        session.commit()


def _figures(office, year=2026):
    with Session(office.engine) as session:
        rows = reports.register(session, office.settings, office.clock, year)
        previous = reports.register(session, office.settings, office.clock, year - 1)
        detail = annual_detail.detail(session, year, rows, 5000)
    return annual.figures(year, rows, previous), detail


def test_within_the_term_counts_only_cases_answered_or_past_their_term(office):
    with today_is(TODAY):
        answered, _, _ = _cases(
            office, TODAY - timedelta(days=10), TODAY - timedelta(days=3), TODAY - timedelta(days=2)
        )
        _update(office, answered.number, reasoned_reply_at=TODAY - timedelta(days=5))
        f, _ = _figures(office)
        page = annual.render_html(f, "Comune di Esempio", None)
    # one answered in time, two still in their term: 100%, not 33%
    assert (f.cases, f.decided, f.within_term) == (3, 1, 1)
    tile = re.search(r"Risposti entro il termine</dt><dd class=\"value\">([^<]*)<", page)
    assert tile is not None and tile[1] == "100%"
    assert "1 su 1: le pratiche con risposta o con il termine già scaduto" in page


def test_a_voided_case_counts_in_no_figure_of_the_report(office):
    with today_is(TODAY):
        overdue, kept = _cases(office, TODAY - timedelta(days=60), TODAY - timedelta(days=50))
        _update(office, kept.number, reasoned_reply_at=TODAY - timedelta(days=40))
        _update(
            office,
            overdue.number,
            voided_at=TODAY - timedelta(days=1),
            void_reason="aperta per errore",
            refund_eur=20.0,
        )
        with Session(office.engine) as session:  # the questionnaire answered before voiding
            session.add(
                SurveyResponse(
                    work_order_id=overdue.id, questions='["Soddisfatto?"]', scores="[1]",
                    comment="mai scritto a voi",
                )
            )  # fmt: skip
            session.commit()
        f, detail = _figures(office)
    assert (f.cases, f.decided, f.within_term, f.refunds) == (1, 1, 1, 0)
    assert sum(f.per_month) == 1 and [o[1] for o in f.by_office] == [1]
    assert detail.cases == 1 and sum(n for _, n in detail.by_channel) == 1
    assert detail.survey_answers == 0 and detail.survey == []


def test_each_chart_is_a_figure_with_its_caption_and_data_table(office):
    with today_is(TODAY):
        _cases(office, datetime(2026, 1, 12, 9, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC))
        f, detail = _figures(office)
        page = annual.render_html(f, "Comune di Esempio", detail)
    figures = re.findall(r"<figure.*?</figure>", page, re.S)
    assert len(figures) == 3
    for figure in figures:
        assert "<svg" in figure and "<figcaption>" in figure and "<table>" in figure
    months, categories, offices = figures
    assert '<th scope="row">gennaio</th><td>0</td><td>1</td>' in months
    assert '<th scope="row">Errore di fatturazione</th><td>1</td><td>50%</td>' in categories
    assert "Ufficio Relazioni con il Pubblico" in offices and ">urp<" not in page
    # axes count cases: whole ticks, never an English "0.2" (matplotlib names each label)
    assert re.findall(r"<!-- (\d+) -->", months)
    assert not re.findall(r"<!-- \d+\.\d+ -->", page)
    assert '<html lang="it">' in page and "<title>Relazione annuale sui reclami 2026" in page


def test_the_pdf_is_the_page_tagged_in_italian_with_office_names(office, tmp_path):
    with today_is(TODAY):
        late, _ = _cases(office, TODAY - timedelta(days=60), TODAY - timedelta(days=2))
        _update(
            office,
            late.number,
            reasoned_reply_at=TODAY - timedelta(days=1),
            refund_eur=1234.5,
            channel="sportello",
        )
        f, detail = _figures(office)
    page, pdf = annual.write(f, "Comune di Esempio", tmp_path / "out", detail)
    reader = PdfReader(pdf)
    text = " ".join(" ".join(p.extract_text().replace("\xa0", " ").split()) for p in reader.pages)
    assert "Relazione annuale sui reclami 2026" in text
    assert "Ufficio Relazioni con il Pubblico" in text  # the office's name, not its id
    assert "1.234,50 € 1 pratica " in text and "EUR" not in text  # Italian money
    assert "Per canale" in text and "sportello" in text and "e-mail" in text  # detail tables
    assert "Reclami per categoria" in text and "Errore di fatturazione" in text
    assert "marzo 0 1" in text  # the months chart's data table
    assert "Ufficio Relazioni con il Pubblico 2 1 0 0%" in text
    assert "0,4 reclami ogni 1.000 utenti (5.000 utenti)" in text
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert root["/Lang"] == "it"
    assert reader.metadata.title.startswith("Relazione annuale sui reclami 2026")
    assert page.read_text().count("<figure") == 3


def test_the_pdf_keeps_every_table_inside_the_page(office):
    from weasyprint import HTML

    with today_is(TODAY):
        _cases(office, *(TODAY - timedelta(days=d) for d in range(1, 40, 3)))
        f, detail = _figures(office)
    document = HTML(string=annual.render_html(f, "Comune di Esempio", detail)).render()
    assert len(document.pages) >= 2
    checked = 0
    for page in document.pages:
        width = page.width - page._page_box.margin_right
        for box in _boxes(page._page_box):
            if box.element_tag in ("table", "figure", "svg", "dl"):
                assert box.position_x + box.margin_width() <= width + 0.5, box.element_tag
                checked += 1
    assert checked >= 3 + 3 + 4  # the figures, their tables, the tiles and the detail tables


def _boxes(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from _boxes(child)


def test_without_weasyprint_the_admin_is_told_what_to_install(office, tmp_path):
    fake = tmp_path / "fake"
    (fake / "weasyprint").mkdir(parents=True)
    (fake / "weasyprint" / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': No such file\")\n"
    )
    config = str(office.settings.source_path)
    out = tmp_path / "out"
    result = run_cli(
        "--config", config, "report", "annual", "--year", "2026", "--out", str(out),
        env={"PYTHONPATH": str(fake)},
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot make the PDF" in result.stderr and "libpangoft2-1.0-0" in result.stderr
    assert (out / "relazione-reclami-2026.html").exists()  # the page is written all the same
    assert pdf_render.DEBIAN_PACKAGES[0] in result.stderr


def test_the_cli_loads_neither_weasyprint_nor_matplotlib_for_help():
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['mailbot', '--help']\n"
        "try:\n    runpy.run_module('mailbot', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('weasyprint', 'matplotlib') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
