"""The citizen's confirmation states the case's own term, the one its due date was counted with
(review finding 1): a regulated bill correction "60 giorni lavorativi", a water complaint "30
giorni lavorativi", a municipal case of calendar days the office's "30 giorni" as before."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default

import pytest

from mailbot import config as config_module
from mailbot.cases.kinds import term_for
from mailbot.config.requests import BILL_CORRECTION, COMPLAINT
from mailbot.replies.compose import Composer
from mailbot.types import Address

from support.app import write_config

RECEIVED = datetime(2026, 12, 6, 9, tzinfo=UTC)


def composer(tmp_path, requests: str = "") -> Composer:
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=requests)
    # Left out, as the README says for a regulated profile: the kind's term applies.
    path.write_text(path.read_text().replace("response_days = 30\n", ""))
    return Composer(config_module.load(path), b"k" * 32)


def letter(composer: Composer, kind: str, language: str, *, incomplete: bool = False) -> str:
    settings = composer.settings
    office = next(iter(settings.offices.values()))
    term = term_for(office, None, kind, settings.charter.requests)
    composed = composer.confirmation(
        number="2026/000001",
        language=language,
        citizen=Address("Giulia Bianchi", "giulia.bianchi@example.org"),
        subject="Bolletta errata",
        received_at=RECEIVED,
        due_at=RECEIVED + timedelta(days=90),
        office=office,
        reply_to="reclami@example.it",
        in_reply_to=None,
        references=(),
        incomplete=incomplete,
        channel="email",
        term_days=term.days,
        term_working=term.working_days,
    )
    message = email.message_from_bytes(composed.raw, policy=default)
    parts = (message.get_body((subtype,)).get_content() for subtype in ("plain", "html"))
    return " | ".join(" ".join(part.split()) for part in parts)


WASTE = '[charter.requests]\nprofile = "arera_waste"\nscheme = "III"\n'
WATER = '[charter.requests]\nprofile = "arera_water"\n'


@pytest.mark.today("2026-12-06")
def test_a_waste_bill_correction_is_promised_sixty_working_days(tmp_path):
    it = letter(composer(tmp_path, WASTE), BILL_CORRECTION, "it")
    assert it.count("(60 giorni lavorativi dalla ricezione)") == 2  # text and HTML
    assert "30 giorni" not in it
    # Review finding 11: a bill correction is not a "segnalazione" (itself one of the kinds).
    assert it.count("abbiamo ricevuto la sua richiesta e l'abbiamo registrata") == 2
    assert "segnalazione" not in it


@pytest.mark.today("2026-12-06")
def test_a_water_complaint_is_promised_thirty_working_days_in_both_languages(tmp_path):
    made = composer(tmp_path, WATER)
    assert letter(made, COMPLAINT, "it").count("(30 giorni lavorativi dalla ricezione)") == 2
    assert letter(made, COMPLAINT, "en").count("(30 working days from receipt)") == 2
    asked = letter(made, COMPLAINT, "it", incomplete=True)
    assert asked.count("Il termine di 30 giorni lavorativi per la risposta motivata") == 2


@pytest.mark.today("2026-12-06")
def test_a_municipal_case_of_calendar_days_keeps_its_wording(tmp_path):
    made = composer(tmp_path)
    it, en = letter(made, COMPLAINT, "it"), letter(made, COMPLAINT, "en")
    assert it.count("(30 giorni dalla ricezione)") == 2 and "lavorativi" not in it
    assert en.count("(30 days from receipt)") == 2 and "working" not in en
