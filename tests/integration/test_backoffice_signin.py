"""Signing in to the back office in a real browser (headless Chromium): by the one-time link
read from the mail, and by OpenID Connect against a real provider started here
(oidc-provider-mock, built on Authlib); `mailbot run` and `mailbot backoffice` serve the back
office and send the link; on PostgreSQL a session opened on one instance is honoured by
another (its own engine, the same database)."""

from __future__ import annotations

import email
import json
import re
import threading
import urllib.request
from email.policy import default
from urllib.parse import parse_qs, urlsplit

import pytest
import werkzeug.serving
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app
from selenium.webdriver.common.by import By

from mailbot.backoffice.app import create_app
from mailbot.web.server import WebServer

from support.app import Daemon, make_services, sent, serving, write_config
from support.backoffice import csrf, office_client
from support.browser import chromium
from support.servers import free_port, wait_for_port

MEMBER = "anna.bianchi@comune.example.it"
STRANGER = "ospite@esterno.example.org"
STAFF = f"""
[[staff]]
email = "{MEMBER}"
name = "Anna Bianchi"
roles = ["responsible"]
offices = ["urp"]
"""
CASE_PAGE = "/pratiche/2026-000001"  # any page: the lists are issue 30's other part


def backoffice_section(port: int) -> str:
    return f'[backoffice]\nlisten = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n'


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


@pytest.fixture(autouse=True)
def no_cookies(browser):
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


@pytest.fixture(scope="module")
def provider():
    """The institution's OpenID Connect provider on 127.0.0.1 (plain HTTP: loopback)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider's side insists on HTTPS
        users = [
            User(sub="anna", claims={"email": MEMBER, "email_verified": True, "name": "Anna"}),
            User(sub="ospite", claims={"email": STRANGER, "email_verified": True}),
            User(sub="non-verificata", claims={"email": MEMBER, "email_verified": False}),
        ]
        server = werkzeug.serving.make_server(
            "127.0.0.1",
            0,
            provider_app(require_client_registration=True, require_nonce=True, user_claims=users),
            threaded=True,
        )
        thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def office(tmp_path_factory, provider):
    """The back office served by web/server.py on its [backoffice] listen, its client
    registered with the provider for its return address; yields (services, base URL)."""
    base = tmp_path_factory.mktemp("office")
    (base / "maildir").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    request = urllib.request.Request(
        f"{provider}/oauth2/clients",
        data=json.dumps({"redirect_uris": [f"{url}/accesso/sso/ritorno"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        client = json.load(answer)
    (base / "oidc-secret").write_text(client["client_secret"])
    oidc = (
        f'[backoffice.oidc]\nissuer = "{provider}"\nclient_id = "{client["client_id"]}"\n'
        f'client_secret_file = "{base / "oidc-secret"}"\nlabel = "Accedi con SPID interno"\n'
    )
    config = write_config(
        base / "mailbot.toml", transport="directory", extra=STAFF + backoffice_section(port) + oidc
    )
    services = make_services(config)
    server = WebServer(lambda: services, "backoffice", create_app)
    server.start()
    try:
        yield services, url
    finally:
        server.stop()
        services.engine.dispose()


def link_in(raw: bytes) -> str:
    text = email.message_from_bytes(raw, policy=default).get_body(("plain",)).get_content()
    found = re.search(r"http://127\.0\.0\.1:\d+/accesso/[A-Za-z0-9_-]+", text)
    assert found is not None, text
    return found.group(0)


def ask_for_link(browser, url: str) -> None:
    browser.get(f"{url}/accesso?next={CASE_PAGE}")
    browser.find_element(By.ID, "address").send_keys(MEMBER)
    browser.find_element(By.CSS_SELECTOR, "form[action='/accesso'] button").click()
    assert "riceverà a breve un messaggio" in browser.find_element(By.CSS_SELECTOR, ".notice").text


def press_sign_in(browser, link: str, url: str) -> None:
    browser.get(link)
    browser.find_element(By.XPATH, "//button[normalize-space()='Accedi']").click()
    who = browser.find_element(By.CSS_SELECTOR, "header .who").text
    assert who.startswith("Accesso come Anna Bianchi")
    assert browser.current_url == url + CASE_PAGE


def test_a_member_signs_in_by_the_link_in_the_mail(office, browser):
    services, url = office
    ask_for_link(browser, url)
    press_sign_in(browser, link_in(sent(services, "sign_in")[-1].raw), url)
    browser.find_element(By.XPATH, "//button[normalize-space()='Esci']").click()
    assert "Ha lasciato l'area riservata" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    browser.get(url + CASE_PAGE)
    browser.find_element(By.TAG_NAME, "footer")  # the page is there
    assert "Accesso come" not in browser.page_source  # signed out


def test_a_member_signs_in_through_the_institutions_provider(office, browser):
    _, url = office
    browser.get(f"{url}/accesso?next={CASE_PAGE}")
    browser.find_element(By.LINK_TEXT, "Accedi con SPID interno").click()
    browser.find_element(By.XPATH, "//button[@value='anna']")  # the provider's page is there
    asked = parse_qs(urlsplit(browser.current_url).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["code_challenge"]
    assert asked["nonce"] and asked["state"] and "openid" in asked["scope"][0].split()
    browser.find_element(By.XPATH, "//button[@value='anna']").click()
    who = browser.find_element(By.CSS_SELECTOR, "header .who").text
    assert who.startswith("Accesso come Anna Bianchi")
    assert browser.current_url == url + CASE_PAGE


def test_someone_the_directory_does_not_know_is_refused_by_name_of_no_one(office, browser):
    _, url = office
    browser.get(f"{url}/accesso")
    browser.find_element(By.LINK_TEXT, "Accedi con SPID interno").click()
    browser.find_element(By.XPATH, "//button[@value='ospite']").click()
    notice = browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert "non corrisponde a nessun membro del personale" in notice
    assert STRANGER not in browser.page_source and MEMBER not in browser.page_source
    assert "Accesso come" not in browser.page_source


def test_an_address_the_provider_has_not_verified_signs_no_one_in(office, browser):
    _, url = office
    browser.get(f"{url}/accesso")
    browser.find_element(By.LINK_TEXT, "Accedi con SPID interno").click()
    browser.find_element(By.XPATH, "//button[@value='non-verificata']").click()
    notice = browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert "non conferma l'indirizzo e-mail" in notice
    assert "Accesso come" not in browser.page_source


def test_mailbot_run_serves_the_back_office_and_sends_the_link(tmp_path, browser, smtp):
    (tmp_path / "maildir").mkdir()
    port = free_port()
    config = write_config(
        tmp_path / "mailbot.toml", smtp_port=smtp.port, extra=STAFF + backoffice_section(port)
    )
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("backoffice process serving")
        url = f"http://127.0.0.1:{port}"
        ask_for_link(browser, url)
        (mail,) = smtp.wait_for(1)  # the outbox loop's next pass
        assert mail.rcpt_tos == [MEMBER]
        press_sign_in(browser, link_in(mail.data), url)
    finally:
        assert daemon.stop() == 0
    assert '"event": "back office stopped"' in daemon.log


def test_mailbot_backoffice_alone_sends_the_link_and_stops_on_sigterm(tmp_path, browser, smtp):
    (tmp_path / "maildir").mkdir()
    port = free_port()
    config = write_config(
        tmp_path / "mailbot.toml", smtp_port=smtp.port, extra=STAFF + backoffice_section(port)
    )
    with serving(config, "backoffice") as proc:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}"
        ask_for_link(browser, url)
        (mail,) = smtp.wait_for(1)  # nothing else sends it: the command itself does
        press_sign_in(browser, link_in(mail.data), url)
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        assert "back office stopped" in (proc.stderr.read() if proc.stderr else "")


@pytest.mark.postgresql
def test_a_session_opened_on_one_instance_is_honoured_by_another(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml", transport="directory", extra=STAFF + backoffice_section(8026)
    )
    first, second = make_services(config), make_services(config)
    try:
        assert first.engine is not second.engine
        one, other = office_client(first), office_client(second)
        form = one.get("/accesso").get_data(as_text=True)
        one.post("/accesso", data={"address": MEMBER, "next": "/", "csrf_token": csrf(form)})
        path = urlsplit(link_in(sent(first, "sign_in")[-1].raw)).path
        page = other.get(path).get_data(as_text=True)  # the link opened on the second
        signed = other.post(path, data={"csrf_token": csrf(page)})
        assert signed.status_code == 303
        cookie = other.get_cookie("mailbot_office")
        one.set_cookie("mailbot_office", cookie.value)  # the balancer sends it to the first
        assert "Accesso come Anna Bianchi" in one.get("/x").get_data(as_text=True)
        out = one.post("/esci", data={"csrf_token": csrf(one.get("/x").get_data(as_text=True))})
        assert out.status_code == 303
        assert "Accesso come" not in other.get("/x").get_data(as_text=True)  # ended for both
    finally:
        first.engine.dispose()
        second.engine.dispose()
