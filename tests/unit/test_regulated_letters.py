"""End to end under `arera_waste` (review findings 1 and 4): a bill correction by mail gets a
confirmation stating its own term, 60 working days, and the office's notification names the
kind in words, with the cue that decided it and how to change it."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.policy import default

import pytest

from mailbot.models import OutboundMessage, WorkOrder

from support.app import make_process, make_services, rows, write_config

BILL = (
    b"From: Giulia Bianchi <giulia.bianchi@example.org>\r\n"
    b"To: suggerimenti@comune.example.it\r\n"
    b"Subject: Avviso TARI errato\r\n"
    b"Message-ID: <tari-1@example.org>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Chiedo la rettifica dell'avviso: la superficie indicata non e' la mia.\r\n"
)


@pytest.fixture
def waste(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = '[charter.requests]\nprofile = "arera_waste"\nscheme = "III"\n'
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    path.write_text(path.read_text().replace("response_days = 30\n", ""))  # the profile's terms
    services = make_services(path)
    yield services
    services.engine.dispose()


def plain(services, kind: str) -> str:
    [row] = [o for o in rows(services, OutboundMessage) if o.kind == kind]
    message = email.message_from_bytes(row.raw, policy=default)
    return " ".join(message.get_body(("plain",)).get_content().split())


@pytest.mark.today("2026-12-06T09:00:00+00:00")
def test_a_bill_correction_is_confirmed_with_its_term_and_notified_with_its_kind(waste):
    make_process(waste)(
        BILL,
        received_at=datetime(2026, 12, 6, 9, tzinfo=UTC),
    )
    [case] = rows(waste, WorkOrder)
    assert (case.kind, case.term_days, case.term_working) == ("rettifica_fatturazione", 60, True)
    letter = plain(waste, "confirmation")
    assert "entro il 4 marzo 2027 (60 giorni lavorativi dalla ricezione)" in letter
    notice = plain(waste, "notification")
    assert "Tipo: rettifica di fatturazione (riconosciuto dalle parole «rettifica»)" in notice
    assert "per cambiarlo, nella risposta: #tipo seguito da reclamo" in notice
