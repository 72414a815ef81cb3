"""The back office's sessions (backoffice/sessions.py): kept in the database, ended at sign-out,
when too old or idle, and at once when the member leaves the staff directory."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from mailbot.backoffice import sessions

from support.app import make_services, write_config
from support.backoffice import office_client, sign_in

STAFF = """
[[staff]]
email = "dirigente.tributi@comune.example.it"
name = "Anna Bianchi"
roles = ["responsible"]
offices = ["urp"]
[backoffice]
listen = "127.0.0.1:8026"
session_hours = 2
idle_minutes = 30
"""


@pytest.fixture
def services(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=STAFF))
    yield services
    services.engine.dispose()


def test_a_session_knows_its_member_until_sign_out(services):
    token = sessions.open_session(services, "Dirigente.Tributi@comune.example.it", "link")
    member = sessions.member_for(services, token)
    assert member is not None and member.name == "Anna Bianchi"
    assert sessions.member_for(services, token + "x") is None
    sessions.end_session(services, token)
    assert sessions.member_for(services, token) is None


def test_a_session_ends_when_idle_or_too_old(services, now):
    token = sessions.open_session(services, "dirigente.tributi@comune.example.it", "link")
    with time_machine.travel(now + timedelta(minutes=25), tick=False):
        assert sessions.member_for(services, token) is not None  # used: idle clock restarts
    with time_machine.travel(now + timedelta(minutes=54), tick=False):
        assert sessions.member_for(services, token) is not None
    with time_machine.travel(now + timedelta(minutes=90), tick=False):
        assert sessions.member_for(services, token) is None  # 36 minutes unused
    other = sessions.open_session(services, "dirigente.tributi@comune.example.it", "link")
    for minutes in range(20, 140, 20):
        with time_machine.travel(now + timedelta(minutes=90 + minutes), tick=False):
            alive = sessions.member_for(services, other)
    assert alive is None  # two hours after sign-in, used or not


def test_a_session_of_someone_not_in_the_directory_lets_nobody_in(services):
    token = sessions.open_session(services, "former.employee@comune.example.it", "link")
    assert sessions.member_for(services, token) is None


def test_pages_ask_for_sign_in_and_the_language_can_be_switched(services):
    client = office_client(services)
    answer = client.get("/lingua/en?next=/archivio")
    assert answer.status_code == 303 and answer.headers["Location"] == "/archivio"
    assert client.get("/lingua/en?next=//evil.example").headers["Location"] == "/"
    sign_in(client, services, "dirigente.tributi@comune.example.it")
    page = client.get("/no-such-page")
    assert page.status_code == 404 and '<html lang="en">' in page.get_data(as_text=True)
