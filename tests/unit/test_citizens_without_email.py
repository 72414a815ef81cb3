"""Citizens with no e-mail address (counter, post, fax, phone; issue 27): their phone number and
postal address reach the office and the access request, the office is told its reply becomes
a letter, and the reply does become a printable letter (recorded as a letter, never as mail)."""

from __future__ import annotations

import email
import io
import json
import os
import pty
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from email.policy import default

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from mailbot.admin.export import export_person
from mailbot.cases import views
from mailbot.cases.operator import operator_action
from mailbot.entry import Submission, file_submission
from mailbot.models import ConversationMessage, Event, OutboundMessage, WorkOrder

from support import clock
from support.app import REPO, make_services, rows, run_cli, write_config
from support.clock import today_is

OPERATOR = "mario.rossi@comune.example.it"
RECEIVED = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def services(tmp_path):
    (tmp_path / "maildir").mkdir()
    svc = make_services(write_config(tmp_path / "mailbot.toml", transport="directory"))
    yield svc
    svc.engine.dispose()


def _phoned(services, channel="telefono", address="Via Roma 1, 00100 Roma", **extra):
    outcome = file_submission(
        services,
        Submission(
            channel=channel,
            subject="Lampione spento",
            text="Verbale: il lampione di via Dante è spento da una settimana.",
            name="Giulia Verdi",
            phone="+39 0471 123456",
            postal_address=address,
            received_at=RECEIVED,
            **extra,
        ),
        actor=OPERATOR,
    )
    assert outcome.work_order_number is not None
    return outcome.work_order_number


def _text(row: OutboundMessage) -> str:
    return email.message_from_bytes(row.raw, policy=default).get_body(("plain",)).get_content()


def _html(row: OutboundMessage) -> str:
    return email.message_from_bytes(row.raw, policy=default).get_body(("html",)).get_content()


def _pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_office_sees_the_phone_and_address_and_is_told_the_reply_goes_by_letter(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services)
    [notification] = [o for o in rows(services, OutboundMessage) if o.kind == "notification"]
    for text in (_text(notification), _html(notification)):
        assert "+39 0471 123456" in text
        assert "Via Roma 1, 00100 Roma" in text
        assert "nessun-indirizzo.invalid" not in text  # the placeholder is no address
        assert "Giulia Verdi" in text and "per telefono" in text
        assert "lettera" in text and f"mailbot workorders letter {number}" in text
        assert "gli sarà inviato dall'indirizzo istituzionale" not in text


def test_a_citizen_with_e_mail_is_still_answered_by_e_mail_and_shown_as_before(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        _phoned(services, channel="sportello", email="giulia.verdi@example.net")
    [notification] = [o for o in rows(services, OutboundMessage) if o.kind == "notification"]
    text = _text(notification)
    assert '"Giulia Verdi" <giulia.verdi@example.net>' in text
    assert "Telefono:  +39 0471 123456" in text
    assert "gli sarà inviato dall'indirizzo istituzionale" in text
    assert "workorders letter" not in text


def test_workorders_show_gives_the_phone_and_postal_address_in_text_and_json(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services)
    with Session(services.engine) as session:
        shown = views.show_work_order(session, number, services.settings.timezone)
    assert shown["contact"]["phone"] == "+39 0471 123456"
    assert shown["contact"]["postal_address"] == "Via Roma 1, 00100 Roma"
    assert shown["contact"]["reachable"] is False
    config = str(services.settings.source_path)
    text = run_cli("--config", config, "workorders", "show", number)
    assert text.returncode == 0, text.stderr
    assert "Phone: +39 0471 123456" in text.stdout
    assert "Postal address: Via Roma 1, 00100 Roma" in text.stdout
    assert "nessun-indirizzo.invalid" not in text.stdout  # the placeholder is no address
    assert "<- citizen 2026-03-03T10:30:00+01:00 from Giulia Verdi" in text.stdout
    as_json = run_cli("--config", config, "workorders", "show", number, "--json")
    assert json.loads(as_json.stdout)["contact"]["phone"] == "+39 0471 123456"
    listed = run_cli("--config", config, "workorders", "list")
    assert listed.returncode == 0, listed.stderr
    [line] = [ln for ln in listed.stdout.splitlines() if ln.startswith(number)]
    assert "Giulia Verdi, tel. +39 0471 123456" in line and ".invalid" not in line


@pytest.mark.parametrize("asked", ["+39 0471 123456", "0471 123456", "0039 0471/123456"])
def test_contact_export_finds_a_citizen_by_phone_number(services, asked):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services)
    data, summary = export_person(services, asked, actor=OPERATOR)
    assert "1 case(s)" in summary
    held = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("data.json"))
    assert held["contacts"][0]["phone"] == "+39 0471 123456"
    assert held["contacts"][0]["email"] is None  # the placeholder is not the person's address
    assert held["cases"][0]["number"] == number
    assert held["cases"][0]["postal_address"] == "Via Roma 1, 00100 Roma"


def test_contact_export_by_an_unknown_phone_number_still_says_nothing_is_held(services):
    from mailbot.errors import NotFoundError

    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        _phoned(services)
    with pytest.raises(NotFoundError, match="nothing is held"):
        export_person(services, "+39 0471 999999")


def test_a_reply_to_a_citizen_without_e_mail_becomes_a_letter_to_print(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services, channel="posta")
    with today_is(datetime(2026, 3, 11, 9, 15, tzinfo=UTC)):
        said = operator_action(
            services, number, OPERATOR, "#risposta\nAbbiamo sostituito la lampada."
        )
    assert "Lettera da stampare e spedire (per posta) a Via Roma 1, 00100 Roma" in said
    assert f"mailbot workorders letter {number}" in said
    assert "queued" not in said
    assert not [o for o in rows(services, OutboundMessage) if o.kind == "relay"]
    [letter] = [m for m in rows(services, ConversationMessage) if m.kind == "letter"]
    assert letter.body_text == "Abbiamo sostituito la lampada."
    kinds = [e.kind for e in rows(services, Event)]
    assert "message.letter" in kinds and "message.relay" not in kinds
    assert not any(
        e.kind == "message.suppressed" and "relay" in e.data for e in rows(services, Event)
    )
    [case] = rows(services, WorkOrder)
    assert case.reasoned_reply_at is not None  # the letter is the reasoned reply, on its date

    from mailbot.cases import letters

    text = _pdf_text(letters.latest(services, number))
    assert f"Pratica n. {number}" in text
    assert "Abbiamo sostituito la lampada." in text
    assert "Ufficio Relazioni con il Pubblico" in text
    assert "Giulia Verdi" in text and "Via Roma 1" in text and "00100 Roma" in text
    assert "11 marzo 2026" in text
    assert "Gentile Giulia Verdi," in text

    # The office gets the letter by mail, to print: an operator who answered from a mail
    # client needs no command line.
    [ready] = [o for o in rows(services, OutboundMessage) if o.kind == "notice"]
    assert ready.recipients == "urp@comune.example.it"
    mail = email.message_from_bytes(ready.raw, policy=default)
    assert "Lettera da stampare e spedire" in str(mail["Subject"])
    assert "Via Roma 1, 00100 Roma" in _text(ready)
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == f"lettera-{number.replace('/', '-')}.pdf"
    assert attached.get_content() == letters.latest(services, number)


def test_a_letter_without_a_postal_address_says_so_and_gets_one_later(services, tmp_path):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services, channel="fax", address="")
        said = operator_action(services, number, OPERATOR, "Le risponderemo entro lunedì.")
    assert "indirizzo postale non registrato" in said
    assert "--address" in said
    config = str(services.settings.source_path)
    out = tmp_path / "lettera.pdf"
    stranger = run_cli(
        "--config", config, "workorders", "letter", number, "--address", "Via X 1",
        "--operator", "chiunque@example.net", "--out", str(out),
    )  # fmt: skip
    assert stranger.returncode == 2 and "not an operator of office urp" in stranger.stderr
    assert not out.exists() and rows(services, WorkOrder)[0].postal_address == ""
    with today_is(datetime(2026, 3, 4, 10, tzinfo=UTC)):
        given = run_cli(
            "--config", config, "workorders", "letter", number, "--address",
            "Via Verdi 3, 39100 Bolzano", "--operator", OPERATOR, "--out", str(out),
        )  # fmt: skip
    assert given.returncode == 0, given.stderr
    text = _pdf_text(out.read_bytes())
    assert "Via Verdi 3" in text and "39100 Bolzano" in text
    assert "Le risponderemo entro lunedì." in text
    assert "3 marzo 2026" in text  # the letter keeps the date it was written
    [case] = rows(services, WorkOrder)
    assert case.postal_address == "Via Verdi 3, 39100 Bolzano"
    again = tmp_path / "ancora.pdf"
    printed = run_cli("--config", config, "workorders", "letter", number, "--out", str(again))
    assert printed.returncode == 0, printed.stderr
    assert again.read_bytes() == out.read_bytes()  # the stored letter, as printed


def test_the_letter_command_refuses_a_case_answered_by_e_mail(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services, channel="sportello", email="giulia.verdi@example.net")
    config = str(services.settings.source_path)
    none = run_cli("--config", config, "workorders", "letter", number, "--out", "/dev/null")
    assert none.returncode == 1, none.stderr  # not found, like an unknown case
    assert "no letter on case" in none.stderr and "Traceback" not in none.stderr


def test_workorders_open_records_the_postal_address_and_says_a_letter_will_follow(services):
    config = str(services.settings.source_path)
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        opened = run_cli(
            "--config", config, "workorders", "open", "--channel", "posta",
            "--operator", OPERATOR, "--subject", "Buca", "--text", "Lettera: buca in via Po.",
            "--name", "Carlo Neri", "--address", "Via Po 2,  10100 Torino",
        )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert "lettera da stampare e spedire a Via Po 2, 10100 Torino" in opened.stdout
    [case] = rows(services, WorkOrder)
    assert case.postal_address == "Via Po 2, 10100 Torino"


def _on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Run the CLI with its standard output on a pseudo-terminal, as an admin would."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mailbot", *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=REPO,
            timeout=120,
            env={**os.environ, **clock.subprocess_env()},  # the test's day, not today
        )
        os.close(follower)
        follower = -1
        shown = b""
        try:
            while chunk := os.read(leader, 65536):
                shown += chunk
        except OSError:  # the terminal's other end is closed: all read
            pass
        return done.returncode, shown + done.stderr
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)


def test_a_pdf_is_never_written_to_the_terminal(services):
    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services)
        operator_action(services, number, OPERATOR, "Risolto.")
    config = str(services.settings.source_path)
    code, shown = _on_a_terminal("--config", config, "workorders", "export", number,
                                 "--format", "pdf")  # fmt: skip
    assert code == 2 and b"%PDF" not in shown
    assert b"--out" in shown
    code, shown = _on_a_terminal("--config", config, "workorders", "letter", number)
    assert code == 2 and b"%PDF" not in shown
    piped = run_cli("--config", config, "workorders", "export", number, "--format", "html")
    assert piped.returncode == 0 and "<html" in piped.stdout  # a pipe still gets the document


def test_purge_removes_the_phone_the_postal_address_and_the_letter(services):
    from mailbot.admin.purge import purge
    from mailbot.models import Contact, StoredAttachment

    with today_is(datetime(2026, 3, 3, 10, tzinfo=UTC)):
        number = _phoned(services, channel="posta")
        operator_action(services, number, OPERATOR, "#chiudi\nAbbiamo sostituito la lampada.")
    [letter] = rows(services, StoredAttachment)
    assert services.store.path(letter.sha256).exists()
    with today_is(datetime(2032, 3, 3, 10, tzinfo=UTC)):
        purge(services, datetime(2031, 1, 1, tzinfo=UTC), actor="dpo@comune.example.it")
    [case] = rows(services, WorkOrder)
    [contact] = rows(services, Contact)
    assert case.purged_at is not None and case.postal_address == ""
    assert contact.phone == "" and contact.name == ""
    assert rows(services, StoredAttachment) == []
    assert not services.store.path(letter.sha256).exists()
