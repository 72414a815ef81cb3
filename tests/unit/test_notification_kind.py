"""The office's notification names the kind of request in words, and how to change it (review
finding 4): under a regulated profile, or when the kind is not the mailbox's own; a municipal
complaint in a complaints mailbox is notified as before, with no such line."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default
from typing import Any

import pytest

from mailbot import config as config_module
from mailbot.cases import wording
from mailbot.replies.compose import Composer

from support.app import write_config

NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


@pytest.fixture
def composer(tmp_path) -> Composer:
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", transport="directory")
    return Composer(config_module.load(path), b"k" * 32)


def notification(composer: Composer, language: str, extra: dict[str, Any]) -> tuple[str, str]:
    values: dict[str, Any] = {
        "contact_name": "Giulia Bianchi", "contact_email": "giulia.bianchi@example.org",
        "contact_reachable": True, "contact_phone": "", "postal_address": "",
        "channel_text": "posta elettronica", "codice_fiscale": None, "registry_name": None,
        "match_rule": "generic_contact", "match_rule_text": "contatto generico",
        "match_state": "unverified", "candidates": [], "candidate_names": [],
        "subject": "Avviso TARI errato", "due_at": NOW, "term_passed": False,
        "status_text": "aperta", "received_at": NOW, "body": "La bolletta è sbagliata.",
        "body_html": "", "sender_alert": "", "other_from": [], "name_address": "",
        "days_left": 88, "term_days": 60, "term_working": True, "extension_days": 0,
        "suspended_at": None, "handover": None, "left_out": [], "reply_template": False,
        **extra,
    }  # fmt: skip
    office = next(iter(composer.settings.offices.values()))
    composed = composer.to_office(
        "notification", number="2026/000001", language=language, office=office,
        values=values, reply_to="reclami@example.it",
    )  # fmt: skip
    message = email.message_from_bytes(composed.raw, policy=default)
    plain, html = (message.get_body((s,)).get_content() for s in ("plain", "html"))
    return plain, html


@pytest.mark.today("2026-12-06")
def test_a_classified_request_is_notified_with_its_kind_and_how_to_change_it(composer):
    said = wording.kind_values("rettifica_fatturazione", "it", shown=True, cue="rettifica")
    plain, html = notification(composer, "it", said)
    assert "Tipo:      rettifica di fatturazione (riconosciuto dalle parole «rettifica»)" in plain
    assert (
        "per cambiarlo, nella risposta: #tipo seguito da reclamo, informazioni, rettifica" in plain
    )
    assert "rettifica_fatturazione" not in plain and "rettifica_fatturazione" not in html
    assert '<th align="left">Tipo</th><td>rettifica di fatturazione' in html
    english, _ = notification(
        composer, "en", wording.kind_values("richiesta_informazioni", "en", shown=True)
    )
    assert "Kind:      request for information\r\n" in english
    assert "to change it, in your reply: #tipo followed by reclamo" in english


@pytest.mark.today("2026-12-06")
def test_a_municipal_complaint_is_notified_without_the_kind_line(composer):
    for extra in ({}, wording.kind_values("reclamo", "it", shown=False)):
        plain, html = notification(composer, "it", extra)
        assert "Tipo:" not in plain and "#tipo seguito da" not in plain
        assert '<th align="left">Tipo</th>' not in html
