"""The online desk's pages through Flask's test client: English pages with `language = "en"`,
and the client address behind a trusted proxy, which the rate limit counts by. (The browser
tests are tests/integration/test_web_form.py.)"""

from __future__ import annotations

import pytest

from mailbot.models import WorkOrder
from mailbot.web.app import create_app

from support.app import make_services, rows, write_config
from support.web import form_of


def desk(tmp_path, extra: str):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f'{extra}\n[web]\nlisten = "127.0.0.1:8099"\nrate_limit = "1 per hour"\n'
        'trusted_proxies = ["127.0.0.1"]\n',
    )
    services = make_services(config)
    return services, create_app(lambda: services).test_client()


def post(client, client_address: str, subject: str):
    page = client.get("/", headers={"X-Forwarded-For": client_address}).get_data(as_text=True)
    form = form_of(page, subject=subject, text="Buca.", privacy="y")
    return client.post("/", data=form, headers={"X-Forwarded-For": client_address})


@pytest.fixture
def english(tmp_path):
    services, client = desk(tmp_path, 'language = "en"')
    yield services, client
    services.engine.dispose()


def test_the_pages_are_in_english_with_language_en(english):
    _, client = english
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Complaints and suggestions" in page
    assert "Privacy notice" in page and "At most 10 MB" in page
    refused = client.post("/", data={"subject": "x"})
    assert refused.status_code == 400 and "This page has expired" in refused.get_data(as_text=True)


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(english):
    services, client = english
    assert post(client, "203.0.113.7", "Buca in via Roma").status_code == 303
    assert post(client, "198.51.100.9", "Buca in via Milano").status_code == 303
    again = post(client, "203.0.113.7", "Buca in via Napoli")
    assert again.status_code == 429 and "Too many submissions" in again.get_data(as_text=True)
    assert sorted(c.subject for c in rows(services, WorkOrder)) == [
        "Buca in via Milano",
        "Buca in via Roma",
    ]


def test_a_templates_path_of_mail_templates_only_keeps_the_shipped_pages(tmp_path):
    (tmp_path / "mine" / "it").mkdir(parents=True)
    services, client = desk(tmp_path, f'templates_path = "{tmp_path / "mine"}"')
    try:
        page = client.get("/").get_data(as_text=True)
        assert "Informativa sul trattamento dei dati personali" in page
    finally:
        services.engine.dispose()


@pytest.mark.parametrize(
    ("notice", "shown"),
    [
        (
            "https://www.comune.example.it/privacy",
            '<a href="https://www.comune.example.it/privacy">',
        ),
        ("I dati sono trattati dal Comune ai sensi del GDPR.", "trattati dal Comune ai sensi"),
    ],
)
def test_the_form_carries_the_configured_privacy_notice(tmp_path, notice, shown):
    services, client = desk(tmp_path, f'[charter]\nprivacy_notice = "{notice}"')
    try:
        assert shown in client.get("/").get_data(as_text=True)
    finally:
        services.engine.dispose()


def test_a_database_outage_gets_a_page_that_says_so_not_a_stack_trace(english, monkeypatch):
    from mailbot import entry
    from mailbot.errors import DatabaseUnavailableError

    def down(*args, **kwargs):
        raise DatabaseUnavailableError("database unavailable: connection refused")

    monkeypatch.setattr(entry, "file_submission", down)
    _, client = english
    answer = post(client, "203.0.113.7", "Buca in via Roma")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503 and "not available right now" in page
    assert "Traceback" not in page and "connection refused" not in page


def test_a_refusal_worded_for_the_command_line_is_not_shown_to_the_citizen(english, monkeypatch):
    from mailbot import entry
    from mailbot.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("--email 'x' is not an email address")

    monkeypatch.setattr(entry, "file_submission", refuse)
    _, client = english
    answer = post(client, "203.0.113.7", "Buca in via Roma")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Your submission was not filed" in page
    assert "--email" not in page
