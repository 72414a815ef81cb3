"""Italian mail and case documents speak Italian (issue 27): statuses, matching rules, message
kinds and events in words from one table (English with language = "en"), dates as 02/03/2026
10:00 in local time, similar names by name with masked codes, a closing letter that greets the
citizen by name, and a back-dated case's confirmation that promises no day already gone."""

from __future__ import annotations

import email
import io
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from html import unescape

import pytest
from pypdf import PdfReader

from mailbot.cases import transcript, wording
from mailbot.cases.operator import operator_action
from mailbot.entry import Submission, file_submission
from mailbot.matching import registry_import
from mailbot.models import OutboundMessage

from support.app import citizen_reply, make_process, make_services, rows, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"
REGISTRY = (
    "codice_fiscale;name;email;pec\n"
    "RSSMRA80A41H501Y;Rossi Maria Luisa;maria.rossi@example.it;\n"
    "BNCMRA75C12F205Q;Bianchi Mario;mario.bianchi@example.net;\n"
)


def _services(tmp_path, extra=""):
    (tmp_path / "maildir").mkdir()
    services = make_services(
        write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    )
    path = tmp_path / "anagrafe.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    registry_import.import_file(services.engine, path, services.settings.registry)
    return services


@pytest.fixture(autouse=True)
def early_march():
    """Every test here states its day (a test may move it again)."""
    with today_is(datetime(2026, 3, 5, 9, tzinfo=UTC)) as now:
        yield now


@pytest.fixture
def services(tmp_path):
    svc = _services(tmp_path)
    yield svc
    svc.engine.dispose()


def mail(sender, name, subject="Buca in via Roma", body="Segnalo una buca."):
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@example.net>"
    msg.set_content(body)
    return msg.as_bytes()


def _text(row: OutboundMessage) -> str:
    return email.message_from_bytes(row.raw, policy=default).get_body(("plain",)).get_content()


def _html(row: OutboundMessage) -> str:
    return email.message_from_bytes(row.raw, policy=default).get_body(("html",)).get_content()


def _sent(services, kind):
    return [o for o in rows(services, OutboundMessage) if o.kind == kind]


def test_every_label_table_has_the_same_ids_in_italian_and_english():
    for name, table in wording.TABLES.items():
        assert set(table["it"]) == set(table["en"]), name
        assert all(table["it"].values()) and all(table["en"].values()), name
    assert wording.label("status", "closed", "it") == "chiusa"
    assert wording.label("event", "message.relay", "it") == "risposta dell'ufficio"
    assert wording.label("status", "something_new", "it") == "something_new"  # never dropped


def test_the_notification_names_the_matching_rule_in_italian(services):
    make_process(services)(mail("mario.bianchi@example.net", "Mario Bianchi"))
    [notification] = _sent(services, "notification")
    for text in (_text(notification), _html(notification)):
        assert "regola:" not in text and "registry_address" not in text
        assert "indirizzo registrato in anagrafe" in text


def test_similar_names_are_shown_by_name_with_the_code_masked(services):
    make_process(services)(mail("m.l.rossi@example.net", "Maria Luisa ROSSI"))
    [notification] = _sent(services, "notification")
    for text in (_text(notification), _html(notification)):
        assert "nomi simili: Rossi Maria Luisa (RSS**********01Y)" in text
        assert "RSSMRA80A41H501Y" not in text


def test_a_forward_to_the_office_gives_the_status_in_italian(services):
    process = make_process(services)
    process(mail("mario.bianchi@example.net", "Mario Bianchi"))
    [confirmation] = _sent(services, "confirmation")
    process(citizen_reply(confirmation, "Aggiungo una foto.", 1))
    [forward] = _sent(services, "forward")
    assert "(aperta)" in _text(forward) and "(open)" not in _text(forward)


def test_the_case_file_speaks_italian_with_local_dates(services):
    with today_is(datetime(2026, 3, 5, 11, tzinfo=UTC)):
        make_process(services)(mail("mario.bianchi@example.net", "Mario Bianchi"))
        operator_action(services, "2026/000001", OPERATOR, "#chiudi\nRiparata.")
    html = unescape(transcript.export(services, "2026/000001", "html").decode())
    pdf = transcript.export(services, "2026/000001", "pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for document in (html, text):
        assert "chiusa" in document and "closed" not in document
        assert "Ufficio Relazioni con il Pubblico" in document  # the office by name
        assert "02/03/2026 10:00" in document  # 09:00 UTC, in Rome
        assert "2026-03-02T" not in document  # no ISO timestamps
        assert "messaggio del cittadino" in document and "citizen (ricevuto)" not in document
        assert "risposta dell'ufficio" in document
        assert "pratica aperta" in document and "work_order.opened" not in document
        assert "05/03/2026 12:00" in document  # when it was closed


def test_the_case_file_in_english_uses_the_english_words(tmp_path):
    services = _services(tmp_path, extra='language = "en"')
    with today_is(datetime(2026, 3, 5, 11, tzinfo=UTC)):
        make_process(services)(mail("mario.bianchi@example.net", "Mario Bianchi"))
    html = unescape(transcript.export(services, "2026/000001", "html").decode())
    assert "<title>Case 2026/000001</title>" in html
    assert "citizen's message" in html and "case opened" in html and ">open<" in html


def test_the_closing_letter_greets_the_citizen_by_name(services):
    process = make_process(services)
    process(mail("mario.bianchi@example.net", "Mario Bianchi"))
    process(mail("anonimo@example.net", "", subject="Rumore"))
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nRiparata.")
    operator_action(services, "2026/000002", OPERATOR, "#chiudi\nVerificato.")
    named, unnamed = _sent(services, "closing")
    assert _text(named).startswith("Gentile Mario Bianchi,")
    assert "<p>Gentile Mario Bianchi,</p>" in _html(named)
    assert _text(unnamed).startswith("Gentile cittadina, gentile cittadino,")


def _entered(services, received):
    return file_submission(
        services,
        Submission(
            channel="sportello",
            subject="Marciapiede",
            text="Il marciapiede di via Dante è dissestato.",
            name="Giulia Verdi",
            email="giulia.verdi@example.net",
            received_at=received,
        ),
        actor=OPERATOR,
    )


def test_a_back_dated_case_is_not_promised_a_day_already_gone(services):
    with today_is(datetime(2026, 5, 20, 10, tzinfo=UTC)):
        _entered(services, datetime(2026, 3, 3, 9, tzinfo=UTC))
        _entered(services, datetime(2026, 5, 19, 9, tzinfo=UTC))
    late, recent = _sent(services, "confirmation")
    for text in (_text(late), _html(late)):
        assert "2 aprile 2026" in text  # the term as it was
        assert "già trascorso" in text and "il prima possibile" in text
        assert "riceverà una risposta motivata entro" not in text
    assert "riceverà una risposta motivata entro il 18 giugno 2026" in _text(recent)
    assert "già trascorso" not in _text(recent)
    late_notice, recent_notice = _sent(services, "notification")
    assert "Scadenza:  2 aprile 2026 (Carta dei servizi: 30 giorni): GIÀ TRASCORSA" in _text(
        late_notice
    )
    assert "GIÀ TRASCORSA" not in _text(recent_notice)


def test_a_back_dated_case_in_english_says_the_term_has_passed(tmp_path):
    services = _services(tmp_path, extra='language = "en"')
    with today_is(datetime(2026, 5, 20, 10, tzinfo=UTC)):
        _entered(services, datetime(2026, 3, 3, 9, tzinfo=UTC))
    [late] = _sent(services, "confirmation")
    assert "that term has already passed" in _text(late)
    assert "as soon as possible" in _text(late)
    assert "you will receive a reasoned reply by" not in _text(late)
