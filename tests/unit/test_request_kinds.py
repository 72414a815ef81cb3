"""Request kinds with their own terms (issue 33, item 1): the `[charter.requests]` profiles
(municipal, ARERA water, ARERA waste), the term a kind has at intake and after `#tipo`, the
rule "unclear: a complaint", and what an explicit office or category term still decides. Dates
cross weekends and holidays; the working days are counted here, not by mailbot's calendar."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from mailbot import config
from mailbot.cases import kinds
from mailbot.cases.operator import operator_action
from mailbot.config.requests import PROFILES, RequestSettings
from mailbot.errors import ConfigError
from mailbot.models import Event, WorkOrder

from support.app import REPO, make_process, make_services, rows, run_cli, write_config

ROME = ZoneInfo("Europe/Rome")
OPERATOR = "mario.rossi@comune.example.it"
# The weekday national holidays of spring 2026 (25 April is a Saturday).
HOLIDAYS = {date(2026, 4, 6), date(2026, 5, 1), date(2026, 6, 2)}
FRIDAY = date(2026, 4, 17)


def nth_working_day(received: date, n: int) -> date:
    """The n-th Monday-to-Friday after `received` that is not a holiday."""
    day, counted = received, 0
    while counted < n:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in HOLIDAYS:
            counted += 1
    return day


def _services(tmp_path, requests: str, *, office_days: bool = False, office_extra: str = ""):
    """A config with `requests` as its [charter.requests] body; the office's response_days is
    left out unless `office_days` (then it wins over the profile)."""
    (tmp_path / "maildir").mkdir()
    body = f"[charter.requests]\n{requests}\n" if requests else ""
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=body)
    text = path.read_text() + office_extra
    path.write_text(text if office_days else text.replace("response_days = 30\n", ""))
    return make_services(path)


_ids = itertools.count(1)


def mail(subject: str, text: str, n: int = 1, sender: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Cittadino {n} <{sender or f'cittadino{n}@example.net'}>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<richiesta-{next(_ids)}@example.net>"
    msg.set_content(text)
    return msg.as_bytes()


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)  # 10:00 in Rome


def _case(services, number: str) -> WorkOrder:
    with Session(services.engine) as session:
        return session.exec(select(WorkOrder).where(WorkOrder.number == number)).one()


def _due(case: WorkOrder) -> date:
    return case.due_at.astimezone(ROME).date()


@pytest.fixture
def waste(tmp_path):
    services = _services(tmp_path, 'profile = "arera_waste"\nscheme = "III"')
    yield services
    services.engine.dispose()


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_a_waste_bill_correction_has_60_working_days_and_a_complaint_30(waste):
    assert nth_working_day(FRIDAY, 60) == date(2026, 7, 14)  # 1 May and 2 June in between
    assert nth_working_day(FRIDAY, 30) == date(2026, 6, 1)
    process = make_process(waste)
    process(
        mail("Bolletta errata di marzo", "La bolletta riporta consumi mai fatti.", 1), _at(FRIDAY)
    )
    process(mail("Cassonetto mai svuotato", "Da due settimane nessuno passa.", 2), _at(FRIDAY))
    process(mail("Richiesta di informazioni", "Vorrei sapere gli orari.", 3), _at(FRIDAY))
    bill, complaint, information = rows(waste, WorkOrder)

    assert (bill.kind, bill.term_days, bill.term_working) == ("rettifica_fatturazione", 60, True)
    assert _due(bill) == nth_working_day(FRIDAY, 60)
    assert (complaint.kind, complaint.term_days) == ("reclamo", 30)  # no cue: a complaint
    assert _due(complaint) == nth_working_day(FRIDAY, 30)
    assert (information.kind, information.term_days) == ("richiesta_informazioni", 30)
    assert _due(information) == nth_working_day(FRIDAY, 30)
    with Session(waste.engine) as session:  # why the bill correction is one
        [why] = session.exec(
            select(Event).where(Event.work_order_id == bill.id, Event.kind == "work_order.kind")
        ).all()
    assert '"cue": "bolletta errata"' in why.data
    assert waste.settings.charter.requests.scheme == "III"


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_water_gives_every_regulated_kind_30_working_days(tmp_path):
    services = _services(tmp_path, 'profile = "arera_water"')
    process = make_process(services)
    process(mail("Fattura errata", "Importo doppio.", 1), _at(FRIDAY))
    process(
        mail("Perdita in strada", "Acqua che esce dal tombino, un disservizio.", 2), _at(FRIDAY)
    )
    bill, complaint = rows(services, WorkOrder)
    assert (bill.kind, complaint.kind) == ("rettifica_fatturazione", "reclamo")
    assert _due(bill) == _due(complaint) == nth_working_day(FRIDAY, 30) == date(2026, 6, 1)
    services.engine.dispose()


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_municipal_keeps_the_mailbox_kind_and_the_office_term(tmp_path):
    """The default profile: no classification, the office's 30 calendar days, as before."""
    services = _services(tmp_path, "", office_days=True)
    assert services.settings.charter.requests == RequestSettings()
    make_process(services)(mail("Bolletta errata", "Vorrei sapere perché.", 1), _at(FRIDAY))
    [case] = rows(services, WorkOrder)
    assert (case.kind, case.term_days, case.term_working) == ("reclamo", 30, False)
    assert FRIDAY + timedelta(days=30) == date(2026, 5, 17)  # a Sunday: the next working day
    assert _due(case) == date(2026, 5, 18)
    services.engine.dispose()


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_an_explicit_office_term_wins_over_the_profile(tmp_path):
    services = _services(tmp_path, 'profile = "arera_waste"\nscheme = "I"', office_days=True)
    make_process(services)(mail("Bolletta errata", "Importo sbagliato.", 1), _at(FRIDAY))
    [case] = rows(services, WorkOrder)
    assert (case.kind, case.term_days, case.term_working) == ("rettifica_fatturazione", 30, False)
    services.engine.dispose()


@pytest.mark.today("2026-04-20T09:00:00+00:00")
def test_a_category_term_wins_over_the_profile(tmp_path):
    terms = '[[offices.terms]]\ncategory = "tributi"\ndays = 10\nworking_days = true\n'
    services = _services(tmp_path, 'profile = "arera_waste"\nscheme = "I"', office_extra=terms)
    make_process(services)(mail("Rettifica TARI", "Avviso sbagliato.", 1), _at(FRIDAY))
    [case] = rows(services, WorkOrder)
    assert (case.kind, _due(case)) == ("rettifica_fatturazione", nth_working_day(FRIDAY, 60))
    operator_action(services, case.number, OPERATOR, "#categoria tributi\n#nota")
    case = _case(services, case.number)
    assert (case.kind, case.category, case.term_days) == ("rettifica_fatturazione", "tributi", 10)
    assert _due(case) == nth_working_day(FRIDAY, 10)
    services.engine.dispose()


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_tipo_recomputes_the_deadline_from_receipt(waste):
    make_process(waste)(mail("Cassonetto rotto", "Il coperchio non si chiude.", 1), _at(FRIDAY))
    [case] = rows(waste, WorkOrder)
    assert _due(case) == nth_working_day(FRIDAY, 30)

    operator_action(waste, case.number, OPERATOR, "#tipo rettifica\n#nota")
    case = _case(waste, case.number)
    assert (case.kind, case.term_days) == ("rettifica_fatturazione", 60)
    assert _due(case) == nth_working_day(FRIDAY, 60)  # from receipt, not from today

    operator_action(waste, case.number, OPERATOR, "#tipo informazioni\n#nota")
    case = _case(waste, case.number)
    assert (case.kind, _due(case)) == ("richiesta_informazioni", nth_working_day(FRIDAY, 30))
    with Session(waste.engine) as session:
        events = session.exec(
            select(Event).where(Event.work_order_id == case.id, Event.kind == "work_order.kind")
        ).all()
    assert [e.actor for e in events] == [OPERATOR, OPERATOR]
    assert '"term_days": "60"' in events[0].data and '"previous": "reclamo"' in events[0].data


@pytest.mark.today("2026-05-04T09:00:00+00:00")
def test_tipo_under_the_municipal_profile_changes_no_term(tmp_path):
    services = _services(tmp_path, "", office_days=True)
    make_process(services)(mail("Rettifica", "Bolletta errata.", 1), _at(FRIDAY))
    [case] = rows(services, WorkOrder)
    before = case.due_at
    operator_action(services, case.number, OPERATOR, "#tipo rettifica\n#nota")
    case = _case(services, case.number)
    assert (case.kind, case.term_days, case.due_at) == ("rettifica_fatturazione", 30, before)
    services.engine.dispose()


REGULATED = RequestSettings(profile="arera_water", classify=True, join_reminders=True)


@pytest.mark.parametrize(
    ("subject", "text", "kind"),
    [
        ("Bolletta errata", "Il conguaglio è sbagliato.", "rettifica_fatturazione"),
        ("Wrong bill", "I was overcharged in March.", "rettifica_fatturazione"),
        ("Domanda", "Vorrei sapere come attivare la fornitura.", "richiesta_informazioni"),
        ("Request for information", "Opening hours?", "richiesta_informazioni"),
        # Unclear: a complaint.
        ("Segnalazione", "Il servizio non funziona.", "reclamo"),
        ("Bolletta errata", "Vorrei sapere perché, è un disservizio.", "reclamo"),
        ("Bolletta errata", "Vorrei sapere quando la correggete.", "reclamo"),  # two kinds
        ("Reclamo per fattura errata", "", "reclamo"),
        ("", "", "reclamo"),
        # A correction asked of a bill is one; of anything else it is not (review finding 4).
        ("Avviso TARI", "Vi chiedo di rettificare l'importo addebitato.", "rettifica_fatturazione"),
        ("Marzo", "La bolletta va rettificata.", "rettifica_fatturazione"),
        ("", "Chiedo la rettifica dell indirizzo di recapito delle bollette.", "reclamo"),
        ("", "Vi chiedo di rettificare il mio codice fiscale, è sbagliato.", "reclamo"),
        # A disservice asking "when" is a complaint, not an information request.
        ("", "Il cassonetto è rotto da un mese. Vorrei sapere quando lo sostituite.", "reclamo"),
        ("Mancata raccolta", "Chiedo informazioni su quando passerete.", "reclamo"),
        ("Contatore", "Il contatore non funziona: vorrei sapere chi chiamare.", "reclamo"),
    ],
)
def test_only_a_clear_cue_makes_mail_something_other_than_a_complaint(subject, text, kind):
    found, cue = kinds.classify(
        subject, text, mailbox_kind="reclamo", channel="email", requests=REGULATED
    )
    assert found == kind
    assert bool(cue) == (kind != "reclamo")


def test_classification_needs_a_regulated_profile_mail_and_a_complaints_mailbox():
    bill = ("Bolletta errata", "Importo sbagliato.")
    municipal = RequestSettings()
    assert kinds.classify(*bill, mailbox_kind="reclamo", channel="email", requests=municipal) == (
        "reclamo",
        "",
    )
    for channel in ("web", "sportello", "telefono"):  # these doors say what they take in
        assert (
            kinds.classify(*bill, mailbox_kind="reclamo", channel=channel, requests=REGULATED)[0]
            == "reclamo"
        )
    assert (
        kinds.classify(*bill, mailbox_kind="suggerimento", channel="email", requests=REGULATED)[0]
        == "suggerimento"
    )
    assert (
        kinds.classify(*bill, mailbox_kind="reclamo", channel="email", requests=REGULATED)[0]
        == "rettifica_fatturazione"
    )


def test_every_cue_names_a_known_kind_and_every_profile_term_is_sane():
    for kind, phrases in kinds.CUES:
        assert kind in config.SUBMISSION_KINDS and phrases
    for profile in PROFILES.values():
        for kind, term in profile.terms.items():
            assert kind in config.SUBMISSION_KINDS and term.days > 0
            assert term.count in ("working", "calendar")
    assert PROFILES["arera_waste"].terms["rettifica_fatturazione"].days == 60
    assert PROFILES["municipal"].terms == {}


def _load(tmp_path, body: str) -> config.Settings:
    path = write_config(tmp_path / "c.toml", extra=body)
    return config.load(path)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[charter.requests]\nprofile = "arera_gas"\n', "charter.requests.profile"),
        ('[charter.requests]\nprofile = "arera_waste"\n', "charter.requests.scheme"),
        ('[charter.requests]\nprofile = "arera_waste"\nscheme = "V"\n', "charter.requests.scheme"),
        ('[charter.requests]\nscheme = "II"\n', "charter.requests.scheme"),
        ('[charter.requests]\nclassify = "yes"\n', "charter.requests.classify"),
        ('[charter.requests]\nprofil = "municipal"\n', "profil"),
    ],
)
def test_a_bad_requests_value_names_its_key(tmp_path, body, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _load(tmp_path, body)


def test_the_example_profiles_switched_on_are_valid(tmp_path):
    text = (REPO / "config.example.toml").read_text()
    found = {}
    for name in ("arera water requests", "arera waste requests"):
        block = text[text.index(f"# BEGIN {name}") : text.index(f"# END {name}")]
        body = "\n".join(line.removeprefix("# ") for line in block.splitlines()[1:])
        found[name] = _load(tmp_path, body).charter.requests
    assert found["arera water requests"].profile == "arera_water"
    assert found["arera water requests"].join_reminders and found["arera water requests"].classify
    assert (found["arera waste requests"].profile, found["arera waste requests"].scheme) == (
        "arera_waste",
        "III",
    )
    assert config.load(REPO / "config.example.toml").charter.requests.profile == "municipal"


@pytest.mark.today("2026-04-17T09:00:00+00:00")
def test_the_counter_says_the_kind_and_it_decides_the_term(waste):
    cfg = str(waste.settings.source_path)
    opened = run_cli(
        "--config", cfg, "workorders", "open", "--channel", "sportello", "--operator", OPERATOR,
        "--subject", "Avviso TARI", "--text", "Chiede di correggere l'avviso.", "--name",
        "Anna Verdi", "--email", "anna@example.net", "--kind", "rettifica",
        "--received", "2026-04-17T10:00",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    [case] = rows(waste, WorkOrder)
    assert (case.kind, case.channel, case.term_days) == ("rettifica_fatturazione", "sportello", 60)
    assert _due(case) == nth_working_day(FRIDAY, 60)
    wrong = run_cli(
        "--config", cfg, "workorders", "open", "--channel", "sportello", "--operator", OPERATOR,
        "--subject", "x", "--text", "y", "--kind", "pizza",
    )  # fmt: skip
    assert wrong.returncode == 2 and "--kind: 'pizza' is not a kind" in wrong.stderr
    assert "Traceback" not in wrong.stderr and len(rows(waste, WorkOrder)) == 1
