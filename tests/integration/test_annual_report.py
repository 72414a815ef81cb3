"""The annual report (issue 7, part 6; issue 27, item 8): a year of generated cases (and some of
the year before) → the register and the report, HTML with inline charts and the same page as a
tagged PDF; the page is rendered in headless Chromium, the screenshot must show the charts, and
at a phone's 390 px nothing runs off the side."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlmodel import Session, select

from mailbot.admin import annual, italian
from mailbot.cases import survey
from mailbot.models import CorrectiveAction, Refund, WorkOrder

from support.app import complaint, make_process, make_services, run_cli, write_config
from support.browser import chromium
from support.clock import today_is

CATEGORIES = ("billing_error", "late_reply", "water_quality", "missed_appointment", "other")
TODAY = datetime(2027, 1, 15, 9, tzinfo=UTC)  # the report is written after the year's end


@pytest.fixture(autouse=True)
def _after_the_year():
    with today_is(TODAY):
        yield


@pytest.fixture(scope="module")
def year_of_cases(tmp_path_factory):
    """140 cases in 2025 and 2026, categorised, mostly answered (some late), some rated."""
    base = tmp_path_factory.mktemp("annual")
    (base / "maildir").mkdir()
    config = write_config(base / "mailbot.toml", transport="directory")
    services = make_services(config)
    process = make_process(services)
    rng = random.Random(2026)
    with today_is(TODAY):
        for n in range(140):
            year = 2025 if n < 40 else 2026
            when = datetime(year, 1, 5, 9, tzinfo=UTC) + timedelta(days=rng.randrange(0, 330))
            process(complaint(n), received_at=when)
    with Session(services.engine) as session:
        for wo in session.exec(select(WorkOrder)):
            wo.category = rng.choice(CATEGORIES)
            if rng.random() < 0.85:
                wo.reasoned_reply_at = wo.received_at + timedelta(
                    days=rng.choice((3, 8, 15, 25, 40))
                )
                if wo.reasoned_reply_at > wo.due_at:
                    wo.refund_eur = 20.0
                if rng.random() < 0.5:
                    wo.satisfaction = rng.randint(2, 5)
            session.add(wo)
        session.commit()
    yield services, config, base
    services.engine.dispose()


def test_register_and_report_from_a_year_of_cases(year_of_cases):
    services, config, base = year_of_cases
    register = run_cli("--config", str(config), "report", "register", "--year", "2026")
    assert register.returncode == 0, register.stderr
    assert len(register.stdout.strip().splitlines()) == 1 + 100

    out = base / "relazione"
    made = _annual(config, out)
    assert made.returncode == 0, made.stderr
    page = out / "relazione-reclami-2026.html"
    pdf = out / "relazione-reclami-2026.pdf"
    html = page.read_text()
    assert html.count("<svg") == 3 and "<script" not in html and " src=" not in html
    assert "Relazione annuale sui reclami 2026" in html and "rispetto al 2025" in html
    text = _pdf_text(pdf)  # the page itself: its tiles, and every chart's data table
    assert "Relazione annuale sui reclami 2026" in text and "rispetto al 2025" in text
    assert "Reclami ricevuti 100" in text and "totale 40 100" in text

    # The figures on the page are the register's
    from mailbot.admin import reports

    with Session(services.engine) as session:
        rows = reports.register(session, services.settings, services.clock, 2026)
        previous = reports.register(session, services.settings, services.clock, 2025)
    figures = annual.figures(2026, rows, previous)
    assert figures.cases == 100 and figures.previous_cases == 40
    assert sum(figures.per_month) == 100 and sum(figures.previous_per_month) == 40
    within = sum(r["within_term"] == "sì" for r in rows)
    decided = sum(r["within_term"] in ("sì", "no") for r in rows)
    assert figures.within_term == within and 0 < within < decided <= 100
    assert f"{within} su {decided}: le pratiche con risposta o con il termine" in html
    assert f">{italian.share(within, decided)}<" in html
    assert figures.median_days is not None and figures.p90_days >= figures.median_days


def test_the_report_details_kinds_channels_outcomes_refunds_actions_and_survey(year_of_cases):
    services, config, base = year_of_cases
    asked = ("Cortesia del personale", "Chiarezza della risposta")
    with Session(services.engine) as session:
        cases = list(
            session.exec(
                select(WorkOrder).where(WorkOrder.number.startswith("2026/")).order_by(WorkOrder.id)
            )
        )
        for i, wo in enumerate(cases[:6]):
            wo.kind = ("suggerimento", "reclamo", "segnalazione")[i % 3]
            wo.channel = ("web", "pec", "email")[i % 3]
            wo.outcome = ("fondato", "infondato")[i % 2]
            wo.subject = f"Proposta numero {i}" if wo.kind == "suggerimento" else wo.subject
            session.add(wo)
        paid, due, refused = (
            Refund(
                work_order_id=cases[0].id,
                reason="late",
                amount_eur=20.0,
                state="paid",
                paid_eur=40.0,
                pay_by=datetime(2026, 3, 1).date(),
            ),
            Refund(
                work_order_id=cases[1].id,
                reason="founded",
                amount_eur=15.0,
                pay_by=datetime(2026, 3, 1).date(),
            ),
            Refund(
                work_order_id=cases[2].id,
                reason="late",
                amount_eur=20.0,
                state="refused",
                pay_by=datetime(2026, 3, 1).date(),
            ),
        )
        session.add_all([paid, due, refused])
        session.add(
            CorrectiveAction(
                work_order_id=cases[1].id,
                text="Nuovo orario sportello",
                created_by="op@example.org",
            )
        )
        survey.record(
            session,
            cases[0],
            survey.Answer((4, 2), "Gentili"),
            asked,
            channel="web",
            actor="citizen",
        )
        survey.record(
            session, cases[1], survey.Answer((5, 3), ""), asked, channel="email", actor="citizen"
        )
        session.commit()

    out = base / "detail"
    made = _annual(config, out, "--users", "5000")
    assert made.returncode == 0, made.stderr
    html = (out / "relazione-reclami-2026.html").read_text()
    assert "20,0 reclami ogni 1.000 utenti (5.000 utenti)" in html
    row = '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>'
    assert row.format("modulo web", 2, "2%") in html and row.format("PEC", 2, "2%") in html
    assert row.format("suggerimento", 2, "2%") in html
    assert row.format("fondato", 3, "50%") in html
    assert row.format("pagati", 1, "40,00\xa0€") in html
    assert row.format("ancora dovuti", 1, "15,00\xa0€") in html
    assert row.format("Cortesia del personale", "4,5 / 5", 2) in html
    assert row.format("Chiarezza della risposta", "2,5 / 5", 2) in html
    assert "Proposta numero 0" in html and "Proposta numero 3" in html
    assert "Nuovo orario sportello (da verificare)" in html
    text = _pdf_text(out / "relazione-reclami-2026.pdf")  # the PDF carries the same tables
    assert "20,0 reclami ogni 1.000 utenti (5.000 utenti)" in text
    assert "pagati 1 40,00 €" in text and "ancora dovuti 1 15,00 €" in text
    assert "modulo web 2 2%" in text and "Cortesia del personale 4,5 / 5 2" in text
    assert "Nuovo orario sportello (da verificare)" in text and "EUR" not in text
    refused_cli = _annual(config, out, "--users", "0")
    assert refused_cli.returncode != 0 and "--users" in refused_cli.stderr
    assert "Traceback" not in refused_cli.stderr


def _pdf_text(path):
    pages = PdfReader(path).pages
    return " ".join(" ".join(p.extract_text().replace("\xa0", " ").split()) for p in pages)


def _annual(config, out, *extra):
    return run_cli(
        "--config", str(config), "report", "annual", "--year", "2026", "--out", str(out), *extra
    )


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


# scripts/test (and so CI) installs Chromium; a developer without it is told, not failed.
@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (scripts/test installs it)")
def test_the_report_reads_well_in_a_browser(year_of_cases):
    _, config, base = year_of_cases
    out = base / "browser"
    made = _annual(config, out)
    assert made.returncode == 0, made.stderr
    browser = BROWSER
    assert browser is not None
    shot = base / "relazione.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={base / 'chromium-profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            (out / "relazione-reclami-2026.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1 << 20) or []
    blue = sum(n for n, (r, g, b) in colours if (r, g, b) == (0x1F, 0x5F, 0xA8))
    green = sum(n for n, (r, g, b) in colours if (r, g, b) == (0x2E, 0x8B, 0x57))
    # Bars are drawn: thousands of pixels of each series' colour, not a blank or broken page.
    assert blue > 5000 and green > 2000, (blue, green)


def test_the_report_fits_a_phone_390_px_wide(year_of_cases):
    _, config, base = year_of_cases
    out = base / "phone"
    made = _annual(config, out, "--users", "5000")
    assert made.returncode == 0, made.stderr
    with chromium() as browser:
        browser.set_window_size(390, 844)
        browser.get((out / "relazione-reclami-2026.html").as_uri())
        width = browser.execute_script("return window.innerWidth")
        page = browser.execute_script("return document.documentElement.scrollWidth")
        widest = browser.execute_script(
            "return Math.max(...[...document.querySelectorAll('table, figure, svg, dl, p')]"
            ".map(e => e.getBoundingClientRect().right))"
        )
        tables = browser.execute_script("return document.querySelectorAll('table').length")
    assert width <= 400  # the phone's viewport, not a desktop's
    assert page <= width, (page, width)  # no sideways scrolling of the page
    assert widest <= width, (widest, width)  # no table or chart runs off the side
    assert tables >= 3 + 4  # a data table under each chart, and the detail's tables
