"""The renderer trusts a loaded template for `FRESH_SECONDS` (no stat a part, issue 32), then
sees an edited file; dates and the institution's addresses are formatted and checked once,
with the same result as formatting them afresh."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailbot import config as config_module
from mailbot.errors import MailError
from mailbot.replies import render
from mailbot.replies.compose import Composer
from mailbot.types import Address

from support.app import write_config

RECEIVED = datetime(2026, 12, 6, 9, tzinfo=UTC)


@pytest.fixture
def composer(tmp_path):
    (tmp_path / "maildir").mkdir()
    mine = tmp_path / "templates"
    shutil.copytree(render.templates_root(_settings(tmp_path, "")), mine)
    return Composer(_settings(tmp_path, f'templates_path = "{mine}"'), b"k" * 32), mine


def _settings(tmp_path, extra):
    path = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    text = path.read_text()
    if extra and extra.startswith("templates_path"):  # a top-level key: before any table
        text = extra + "\n" + text.replace(extra + "\n", "")
    path.write_text(text)
    return config_module.load(path)


def confirm(composer: Composer, to: str = "giulia.bianchi@example.org") -> str:
    office = next(iter(composer.settings.offices.values()))
    return composer.confirmation(
        number="2026/000001",
        language="it",
        citizen=Address("Giulia Bianchi", to),
        subject="Lampione spento",
        received_at=RECEIVED,
        due_at=RECEIVED + timedelta(days=30),
        office=office,
        reply_to="reclami@example.it",
        in_reply_to=None,
        references=(),
        channel="email",
        term_days=30,
        term_working=False,
    ).text


def test_an_edited_template_is_used_once_its_freshness_ran_out(composer, monkeypatch):
    composer, mine = composer
    now = [1000.0]
    monkeypatch.setattr(render, "_now", lambda: now[0])
    assert "Lampione spento" in confirm(composer)
    template = mine / "it" / "confirmation.txt.j2"
    template.write_text("Pratica {{ number }}: testo nuovo\n", encoding="utf-8")
    now[0] += render.FRESH_SECONDS / 2
    assert "testo nuovo" not in confirm(composer)  # still the one loaded
    now[0] += render.FRESH_SECONDS
    assert confirm(composer).startswith("Pratica 2026/000001: testo nuovo")


def test_cached_dates_read_as_freshly_formatted_ones_in_each_language_and_zone():
    rome, utc = ZoneInfo("Europe/Rome"), ZoneInfo("UTC")
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks go forward
    assert render._local_datetime(moment, "it", rome) == "29 marzo 2026, 01:30"
    assert render._local_datetime(moment + timedelta(hours=1), "it", rome) == "29 marzo 2026, 03:30"
    assert render._local_datetime(moment, "en", utc) == "29 March 2026, 00:30"
    # The same instant in another zone is the same key, and reads the same.
    assert render._local_datetime(moment.astimezone(rome), "it", rome) == "29 marzo 2026, 01:30"
    assert render._local_date(moment, "it", ZoneInfo("America/New_York")) == "28 marzo 2026"
    assert render._local_date(moment.date(), "en", rome) == "March 29, 2026"


def test_the_two_half_past_twos_of_the_night_the_clocks_go_back_read_apart(composer):
    """Equal as cache keys in their own zone (only `fold` differs), an hour apart as moments."""
    composer, mine = composer
    (mine / "it" / "probe.txt.j2").write_text("{{ a | datetime }} / {{ b | datetime }}")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Rome"))
    composer.tz = ZoneInfo("UTC")  # shown in another zone
    shown = composer._render("it", "probe", "txt", {"a": first, "b": first.replace(fold=1)})
    assert shown == "25 ottobre 2026, 00:30 / 25 ottobre 2026, 01:30"


def test_a_bad_address_is_refused_every_time_not_only_the_first(composer):
    composer, _ = composer
    for _ in range(2):
        with pytest.raises(MailError, match="cannot address"):
            confirm(composer, to="not an address@@example.org")
