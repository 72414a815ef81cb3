"""A confirmation to an address nobody has proved (the web form: whoever filled it in typed it)
carries nothing the submitter chose but a short name: the case number, the office, the term and
"if you did not write, ignore this"; never their subject, text or file names. Mail confirmations
(the sender's own server delivered the mail) keep repeating the subject."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

import pytest

from mailbot import entry
from mailbot.config import CHANNELS
from mailbot.models import OutboundMessage, WorkOrder
from mailbot.replies.compose import ADDRESS_SOURCE, PROVED, address_proved, short_name

from support.app import make_process, make_services, rows, write_config
from support.clock import today_is

LURE = "Rimborso IRPEF approvato - accedi a https://rimborsi-irpef.example.com/login"
NAME = "Agenzia Entrate https://rimborsi-irpef.example.com Chiami 0612345678"


@pytest.fixture
def services(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", transport="directory"))
    yield services
    services.engine.dispose()


def confirmation(services) -> email.message.EmailMessage:
    row = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    return email.message_from_bytes(row.raw, policy=default)


def text_of(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def test_a_web_confirmation_repeats_nothing_the_submitter_chose(services):
    submission = entry.Submission(
        channel="web",
        subject=LURE,
        text=f"{LURE}\nInserisca i dati della carta entro oggi.",
        name=NAME,
        email="vittima@example.org",
        attachments=[("Rimborso_IRPEF_modulo.exe", b"MZ...")],
    )
    with today_is(datetime(2026, 3, 11, 9, tzinfo=UTC)):
        outcome = entry.file_submission(services, submission, actor="web")
    message = confirmation(services)
    plain, html = text_of(message)
    case = rows(services, WorkOrder)[0]
    assert case.subject == LURE  # the office has the submission as it came
    for part in (str(message["Subject"]), str(message["To"]), plain, html):
        for chosen in ("IRPEF", "rimborsi", "https", "example.com", "carta", "0612345678", ".exe"):
            assert chosen not in part, (chosen, part)
    assert str(message["Subject"]) == f"[Pratica {outcome.work_order_number}] Richiesta registrata"
    assert f"Pratica n. {outcome.work_order_number}" in plain
    assert "Ufficio Relazioni con il Pubblico" in plain
    assert "risposta motivata entro il 10 aprile 2026" in " ".join(plain.split())
    assert "Se non ha scritto lei, può ignorare questo messaggio." in plain
    assert "Se non ha scritto lei" in html
    assert "Gentile Agenzia Entrate Chiami," in plain  # the name's words, cut; no URL, no digits


def test_a_mail_confirmation_keeps_the_subject(services):
    raw = (
        "From: Anna Verdi <anna@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
        "Subject: Lampione spento in via Roma\r\nMessage-ID: <lampione@example.net>\r\n\r\n"
        "Il lampione è spento.\r\n"
    ).encode()
    make_process(services)(raw)
    message = confirmation(services)
    plain, _ = text_of(message)
    assert "Lampione spento in via Roma" in str(message["Subject"])
    assert "Oggetto: Lampione spento in via Roma" in plain
    assert "Se non ha scritto lei" not in plain


def test_the_english_unproved_confirmation(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", transport="directory", extra='language = "en"')
    services = make_services(config)
    submission = entry.Submission(
        channel="web", subject=LURE, text=LURE, name="Anna", email="anna@example.org"
    )
    outcome = entry.file_submission(services, submission, actor="web")
    message = confirmation(services)
    plain, html = text_of(message)
    assert str(message["Subject"]).endswith("Your message has been registered")
    assert f"Case no. {outcome.work_order_number}" in plain and "IRPEF" not in plain + html
    assert "If you did not write to us, you can ignore this message." in plain
    services.engine.dispose()


def test_every_channel_says_how_its_address_reached_us():
    assert set(ADDRESS_SOURCE) == set(CHANNELS)
    assert not address_proved("web") and not address_proved("a channel added later")
    assert all(address_proved(c) for c, how in ADDRESS_SOURCE.items() if how in PROVED)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Anna Verdi", "Anna Verdi"),
        ("D'Annunzio Gabriele-Maria", "D'Annunzio Gabriele-Maria"),
        ("Maria F. Rossi", "Maria F. Rossi"),
        ("Anna\r\nBcc: x@y", "Anna"),
        ("Vai su evil.example o www.evil.example", "Vai su o"),
        ("ｅｖｉｌ．ｅｘａｍｐｌｅ Anna", "Anna"),  # noqa: RUF001 (fullwidth: the point)
        ("Anna\u202etxt.exe", ""),
        ("Giovanni " * 10, "Giovanni Giovanni Giovanni Giovanni"),
    ],
)
def test_a_short_name_holds_words_of_letters_only(given, kept):
    assert short_name(given) == kept


def test_the_closing_letter_to_a_web_address_does_not_repeat_the_subject(services):
    from sqlmodel import Session

    from mailbot.cases.notices import closing_letter

    submission = entry.Submission(
        channel="web", subject=LURE, text=LURE, name=NAME, email="vittima@example.org"
    )
    entry.file_submission(services, submission, actor="web")
    with Session(services.engine) as session:
        case = session.get(WorkOrder, rows(services, WorkOrder)[0].id)
        closing_letter(services, session, case)
        session.commit()
    row = next(o for o in rows(services, OutboundMessage) if o.kind == "closing")
    message = email.message_from_bytes(row.raw, policy=default)
    plain, html = text_of(message)
    assert str(message["Subject"]).endswith("Pratica chiusa")
    for part in (str(message["Subject"]), str(message["To"]), plain, html):
        assert "IRPEF" not in part and "example.com" not in part and "https" not in part
