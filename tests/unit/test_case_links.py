"""The office's mail about a case links to the case's page in the back office when there is
one (`[backoffice]`): the notification, a citizen's follow-up forwarded, an internal note and
an approval request, in both languages and both parts (text and HTML); without a back office
the mail has no link."""

from __future__ import annotations

import email
from email.policy import default

import pytest

from mailbot.models import OutboundMessage
from unit.test_conversations import OPERATOR, reply
from unit.test_desk_flow import APPROVAL, services_with

from support.app import citizen_reply, complaint, make_process, make_services, sent, write_config

PAGE = "https://servizi.comune.example.it/ufficio/pratiche/2026-000001"
SUPERVISOR = "urp.centro@comune.example.it"
BACKOFFICE = f"""
[[staff]]
email = "{SUPERVISOR}"
name = "URP centrale"
roles = ["supervisor"]
[backoffice]
listen = "127.0.0.1:8026"
public_url = "https://servizi.comune.example.it/ufficio/"
"""


def parts(row: OutboundMessage) -> tuple[str, str]:
    message = email.message_from_bytes(row.raw, policy=default)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())


@pytest.fixture
def office(tmp_path):
    services = services_with(tmp_path, APPROVAL + BACKOFFICE, approval=True)
    yield services
    services.engine.dispose()


def test_the_notification_links_to_the_case_page(office):
    make_process(office)(complaint(1))
    [notification] = sent(office, "notification")
    text, html = parts(notification)
    assert f"Scheda:    {PAGE}\n" in text
    assert f'<th align="left">Scheda</th><td><a href="{PAGE}">{PAGE}</a></td>' in html


def test_the_other_office_mail_links_to_the_case_page_too(office):
    process = make_process(office)
    process(complaint(1))
    [confirmation] = sent(office, "confirmation")
    [notification] = sent(office, "notification")
    process(citizen_reply(confirmation, "Aggiungo una foto.", 1))  # forwarded to the office
    process(reply(notification, SUPERVISOR, "#nota\nSeguo io il sollecito.", name="URP"))
    process(reply(notification, OPERATOR, "La buca sarà riparata entro venerdì."))  # held
    for kind in ("forward", "internal_note"):
        [row] = sent(office, kind)
        text, html = parts(row)
        assert f"Scheda della pratica: {PAGE}\n" in text, kind
        assert f'<a href="{PAGE}">' in html, kind
    [request] = sent(office, "approval")
    text, html = parts(request)
    assert f"Scheda:     {PAGE}\n" in text and f'<a href="{PAGE}">' in html


def test_in_english_the_notification_names_the_case_page(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(tmp_path / "mailbot.toml", extra='language = "en"\n' + BACKOFFICE)
    services = make_services(config)
    try:
        make_process(services)(complaint(1))
        [notification] = sent(services, "notification")
        text, html = parts(notification)
        assert f"Case page: {PAGE}\n" in text and f'<a href="{PAGE}">' in html
    finally:
        services.engine.dispose()


def test_without_a_back_office_the_mail_has_no_link(tmp_path):
    services = services_with(tmp_path, "")
    try:
        make_process(services)(complaint(1))
        [notification] = sent(services, "notification")
        text, html = parts(notification)
        assert "Scheda" not in text and "/pratiche/" not in text + html
    finally:
        services.engine.dispose()
