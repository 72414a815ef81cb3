"""The regulator's register and annual data (issue 33, item 4): a year of written requests of
the three regulated kinds, answered on time, late for each cause, or not at all, received and
answered on dates that cross weekends and holidays; `report arera` writes the workbook, and
every figure in it is computed here again, independently (own working-day counting), and
compared; the share against the target is shown per scheme."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session, select

from mailbot import db
from mailbot.cases import refunds
from mailbot.cases.operator import operator_action
from mailbot.models import Event, Refund, WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"
TODAY = "2027-01-20T09:00:00+00:00"  # a Wednesday: the report on 2026 is written in January
# The Italian national holidays of 2026 and early 2027 (Easter Monday 6 April 2026), by hand.
HOLIDAYS = {
    date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 6), date(2026, 4, 25), date(2026, 5, 1),
    date(2026, 6, 2), date(2026, 8, 15), date(2026, 11, 1), date(2026, 12, 8),
    date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1), date(2027, 1, 6),
}  # fmt: skip
TERMS = {"reclamo": 30, "richiesta_informazioni": 30, "rettifica_fatturazione": 60}
CAUSE_WORDS = {"forza-maggiore": "force_majeure", "cliente-terzi": "user_or_third_party",
               "gestore": "operator", "": "not_stated"}  # fmt: skip

# (kind, received, answered or None, the cause said when late)
CASES = [
    ("reclamo", date(2026, 4, 3), date(2026, 5, 15), ""),  # Easter, 25 April, 1 May between
    ("reclamo", date(2026, 12, 4), date(2026, 12, 23), ""),  # the 8 December between
    ("reclamo", date(2026, 4, 24), date(2026, 6, 12), "forza-maggiore"),
    ("reclamo", date(2026, 7, 31), date(2026, 9, 18), "cliente-terzi"),  # Ferragosto
    ("reclamo", date(2026, 2, 6), date(2026, 3, 27), "gestore"),
    ("reclamo", date(2026, 10, 30), date(2026, 12, 18), ""),  # late, no cause said
    ("reclamo", date(2026, 11, 27), None, ""),  # unanswered, its term ended in January
    ("reclamo", date(2026, 12, 28), None, ""),  # unanswered, still in its term
    ("richiesta_informazioni", date(2026, 1, 2), date(2026, 2, 13), ""),  # Epiphany between
    ("richiesta_informazioni", date(2026, 5, 29), date(2026, 6, 26), ""),  # 2 June between
    ("richiesta_informazioni", date(2026, 9, 4), date(2026, 10, 9), ""),
    ("richiesta_informazioni", date(2026, 3, 13), date(2026, 5, 8), "gestore"),
    ("rettifica_fatturazione", date(2026, 3, 20), date(2026, 5, 22), ""),  # 60 working days
    ("rettifica_fatturazione", date(2026, 6, 5), date(2026, 10, 2), "cliente-terzi"),
    ("rettifica_fatturazione", date(2026, 10, 2), None, ""),  # its 60 days ended in December
    ("suggerimento", date(2026, 5, 4), date(2026, 5, 6), ""),  # no regulated request
]


def working_days_after(received: date, until: date) -> int:
    """Mondays to Fridays after `received` up to `until`, holidays out: counted here, not by
    mailbot's calendar."""
    days = (received + timedelta(days=n) for n in range(1, (until - received).days + 1))
    return sum(1 for d in days if d.weekday() < 5 and d not in HOLIDAYS)


def indemnity(taken: int, term: int) -> float:
    """ARERA water: 30 EUR late, 60 beyond twice the term, 90 beyond three times."""
    return 30.0 * max((k for k in (2, 3) if taken > k * term), default=1)


@pytest.fixture
def utility(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = (
        '[charter.indemnity]\nprofile = "arera_water"\n'
        '[charter.reply_checks]\nmode = "off"\n'  # the replies are not what this tests
        '[[categories]]\nid = "bollette"\nname = "Bollette"\nkeywords = ["bolletta"]\n'
    )
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    path.write_text(
        path.read_text().replace(
            "response_days = 30\n",
            "response_days = 30\nworking_days = true\n[[offices.terms]]\n"
            'category = "bollette"\ndays = 60\nworking_days = true\n',
        )
    )
    services = make_services(path)
    yield services
    services.engine.dispose()


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)  # 10:00 in Rome


def _file_the_year(services) -> list[str]:
    """Files every case (a bill correction by its subject: the 60-day term of its category),
    gives it its kind, then sends the replies day by day with the cause said when late."""
    process = make_process(services)
    for n, (kind, received, _, _) in enumerate(CASES, 1):
        subject = "Bolletta da correggere" if kind == "rettifica_fatturazione" else ""
        process(complaint(n, subject), received_at=_at(received))
    numbers = [wo.number for wo in rows(services, WorkOrder)]
    with Session(services.engine) as session:  # the kinds helper's #tipo words, set directly
        for number, (kind, *_) in zip(numbers, CASES, strict=True):
            session.exec(
                sa.update(WorkOrder).where(WorkOrder.number == number).values(kind=kind)  # type: ignore[arg-type]
            )
        session.commit()
    replies = sorted(
        (answered, number, cause)
        for number, (_, _, answered, cause) in zip(numbers, CASES, strict=True)
        if answered
    )
    for answered, number, cause in replies:
        with today_is(_at(answered)):
            said = f"#causa {cause}\n" if cause else ""
            operator_action(services, number, OPERATOR, f"{said}#risposta\nEcco la risposta.")
    return numbers


def _expected(today: date) -> dict[str, dict[str, object]]:
    """Every figure of the annual data, from CASES alone."""
    found: dict[str, dict[str, object]] = {}
    for kind, term in TERMS.items():
        mine = [c for c in CASES if c[0] == kind]
        answered = [(r, a, cause) for _, r, a, cause in mine if a]
        taken = [working_days_after(r, a) for r, a, _ in answered]
        on_time = sum(t <= term for t in taken)
        late = [
            CAUSE_WORDS[cause] for (_, _, cause), t in zip(answered, taken, strict=True) if t > term
        ]
        unanswered = [working_days_after(r, today) for _, r, a, _ in mine if not a]
        past = sum(t > term for t in unanswered)
        found[kind] = {
            "Richieste ricevute": len(mine),
            "Risposte inviate": len(answered),
            "Risposte entro il termine": on_time,
            "Risposte oltre il termine: forza maggiore": late.count("force_majeure"),
            "Risposte oltre il termine: causa imputabile al cliente o a terzi": late.count(
                "user_or_third_party"
            ),
            "Risposte oltre il termine: causa imputabile al gestore": late.count("operator"),
            "Risposte oltre il termine: causa non indicata": late.count("not_stated"),
            "Senza risposta, termine scaduto": past,
            "Senza risposta, nel termine": len(unanswered) - past,
            "Tempo effettivo medio (giorni lavorativi)": round(statistics.mean(taken), 2),
            "Quota entro il termine (%)": round(100 * on_time / (len(answered) + past), 2),
        }
    return found


def _report(services, out, *options: str):
    config = str(services.settings.source_path)
    result = run_cli(
        "--config", config, "report", "arera", "--year", "2026", "--out", str(out), *options
    )
    assert result.returncode == 0, result.stderr
    book = load_workbook(out)
    sheets = {
        title: dict(list(book[title].values)[1:])
        for title in ("Reclami", "Richieste di informazioni", "Rettifiche di fatturazione")
    }
    return sheets, list(book["Registro"].values), result


SHEETS = {"reclamo": "Reclami", "richiesta_informazioni": "Richieste di informazioni",
          "rettifica_fatturazione": "Rettifiche di fatturazione"}  # fmt: skip


@pytest.mark.today(TODAY)
def test_the_annual_workbook_matches_figures_computed_independently(utility, now, tmp_path):
    today = now.date()
    # the dates were chosen for what they test: check that they do, by the test's own count
    assert working_days_after(date(2026, 4, 3), date(2026, 5, 15)) == 28  # on time
    assert working_days_after(date(2026, 11, 27), today) > 30  # unanswered past its term
    assert working_days_after(date(2026, 12, 28), today) <= 30  # still in its term
    assert 30 < working_days_after(date(2026, 3, 20), date(2026, 5, 22)) <= 60
    numbers = _file_the_year(utility)
    number_of = dict(zip(numbers, CASES, strict=True))
    # the operator's own cause owes the indemnity: pay one on a bill
    operator_late = next(n for n, c in number_of.items() if c[0] == "reclamo" and c[3] == "gestore")
    with Session(utility.engine) as session:
        case = session.exec(select(WorkOrder).where(WorkOrder.number == operator_late)).one()
        refund = session.exec(select(Refund).where(Refund.work_order_id == case.id)).one()
    with db.unit_of_work(utility.engine) as session:
        refunds.pay(session, refund.id or 0, "admin", "Bolletta n. 2026/991", utility.settings)
    kind, received, answered, _ = number_of[operator_late]
    paid = indemnity(working_days_after(received, answered), TERMS[kind])

    sheets, register, result = _report(utility, tmp_path / "arera-2026.xlsx", "--scheme", "III")
    for kind, figures in _expected(today).items():
        got = sheets[SHEETS[kind]]
        assert {k: got[k] for k in figures} == figures, kind
        assert got["Schema regolatorio"] == "III"

    # the register: the regulated requests only, in number order, with the columns ARERA asks
    header, *lines = register
    assert header[:3] == ("Codice di rintracciabilità", "Tipologia di richiesta", "Tipologia d'uso")
    regulated = [n for n, c in number_of.items() if c[0] in TERMS]
    assert [line[0] for line in lines] == regulated
    by_number = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    late_user = next(n for n, c in number_of.items() if c[3] == "cliente-terzi")
    row = by_number[late_user]
    assert row["Causa del mancato rispetto"] == "causa imputabile al cliente o a terzi"
    assert row["Entro il termine"] == "no" and row["Unità del termine"] == "giorni lavorativi"
    assert row["Data di ricevimento"] == datetime(*number_of[late_user][1].timetuple()[:3])
    assert by_number[operator_late]["Indennizzo pagato (EUR)"] == paid == 30.0
    assert sum(line[header.index("Indennizzo pagato (EUR)")] for line in lines) == paid
    on_time = numbers[0]
    assert by_number[on_time]["Tempo effettivo"] == 28
    assert by_number[on_time]["Causa del mancato rispetto"] is None  # empty cell
    assert "1 other case(s) are not regulated requests" in result.stderr
    with Session(utility.engine) as session:
        kinds = {e.kind for e in session.exec(select(Event))}
    assert "report.arera_exported" in kinds  # who exported the register is on record


@pytest.mark.today(TODAY)
def test_the_share_is_shown_against_each_schemes_target(utility, now, tmp_path):
    _file_the_year(utility)
    expected = _expected(now.date())
    share = {k: v["Quota entro il termine (%)"] for k, v in expected.items()}
    assert 70 <= share["richiesta_informazioni"] < 90  # met in scheme III, not in IV

    def shown(*options: str) -> dict[str, tuple[object, object]]:
        sheets, _, _ = _report(utility, tmp_path / "arera.xlsx", *options)
        return {
            kind: (sheets[title]["Standard generale (%)"], sheets[title]["Standard rispettato"])
            for kind, title in SHEETS.items()
        }

    def judged(target: float) -> tuple[float, str]:
        return target, "sì"

    three = shown("--scheme", "III")
    assert three["reclamo"] == (70.0, "sì" if share["reclamo"] >= 70 else "no")
    assert three["richiesta_informazioni"] == judged(70.0)
    four = shown("--scheme", "IV")
    assert four["richiesta_informazioni"] == (90.0, "no")
    assert four["reclamo"] == (90.0, "no")
    # scheme I has no general standards; without a scheme (water), none either
    assert set(shown("--scheme", "I").values()) == {(None, None)}
    assert set(shown().values()) == {(None, None)}
    # an authority's own standard over the scheme's
    assert shown("--scheme", "IV", "--target", "reclamo=25")["reclamo"] == (25.0, "sì")

    config = str(utility.settings.source_path)
    bad = run_cli("--config", config, "report", "arera", "--year", "2026", "--out",
                  str(tmp_path / "x.xlsx"), "--scheme", "V")  # fmt: skip
    assert bad.returncode == 2 and "--scheme: expected one of I, II, III, IV" in bad.stderr
    assert "Traceback" not in bad.stderr
    odd = run_cli("--config", config, "report", "arera", "--year", "2026", "--out",
                  str(tmp_path / "x.xlsx"), "--target", "reclamo=120")  # fmt: skip
    assert odd.returncode == 2 and "--target: expected KIND=PERCENT" in odd.stderr
    # a waste utility names its scheme once, in the configuration; --scheme still wins
    source = utility.settings.source_path
    source.write_text(
        source.read_text() + '[charter.requests]\nprofile = "arera_waste"\nscheme = "IV"\n'
    )
    assert shown()["reclamo"] == (90.0, "no")
    assert shown("--scheme", "III")["reclamo"][0] == 70.0


@pytest.mark.today(TODAY)
def test_supply_details_reach_the_register(utility, tmp_path):
    process = make_process(utility)
    process(complaint(1), received_at=_at(date(2026, 6, 10)))
    [case] = rows(utility, WorkOrder)
    config = str(utility.settings.source_path)
    done = run_cli(
        "--config", config, "workorders", "supply", case.number, "--use", "domestico",
        "--customer", "=HYPERLINK(\"x\")", "--supply-point", "PDR-0042", "--by", "ufficio",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _, register, _ = _report(utility, tmp_path / "arera.xlsx")
    header, line = register
    row = dict(zip(header, line, strict=True))
    assert row["Tipologia d'uso"] == "domestico"
    assert row["Codice utenza / punto di fornitura"] == "PDR-0042"
    assert row["Codice utente"] == '=HYPERLINK("x")'  # shown as written: a text, not a formula
    assert row["Richiedente"] == "Cittadino 1"
    nothing = run_cli("--config", config, "workorders", "supply", case.number)
    assert nothing.returncode == 2 and "--use, --customer and/or --supply-point" in nothing.stderr


@pytest.mark.today(TODAY)
def test_a_kind_with_no_measurable_share_gets_no_verdict_on_the_terminal(utility, tmp_path):
    """Review finding 8: nothing answered and nothing past its term: the share is "n.d." and
    the summary says no "not met" (the workbook leaves "Standard rispettato" blank)."""
    make_process(utility)(complaint(1), received_at=_at(date(2026, 12, 28)))
    sheets, _, result = _report(utility, tmp_path / "arera.xlsx", "--scheme", "III")
    assert sheets["Reclami"]["Standard rispettato"] is None
    assert "reclamo: 1 received, 0 on time, n.d. (target 70%)\n" in result.stderr
    assert "not met" not in result.stderr and ": met" not in result.stderr
