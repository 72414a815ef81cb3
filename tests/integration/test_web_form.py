"""The online desk in a real headless Chromium against a real waitress server: a complaint
filed from the form becomes a case like a mail (numbered, its attachment kept, the citizen
confirmed by the daemon's outbox over real SMTP); the privacy notice must be accepted, a
cross-site post is refused, an upload over the cap gets the form back with the text kept, the
rate limit counts only what was filed; a closed case's questionnaire is answered on its page."""

from __future__ import annotations

import http.client
import json
import signal
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from sqlmodel import Session, select

from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError
from mailbot.models import Event, OutboundMessage, StoredAttachment, SurveyResponse, WorkOrder
from mailbot.services import Services
from mailbot.web.server import WebServer

from support.app import Daemon, make_services, rows, run_cli, serving, write_config
from support.browser import chromium
from support.servers import free_port, wait_for_port

pytestmark = pytest.mark.integration

OPERATOR = "mario.rossi@comune.example.it"
QUESTIONS = ("Quanto è stata chiara la risposta?", "Quanto è stata rapida la risposta?")


def desk_config(base: Path, rate_limit: str = "100 per minute", **config: int) -> Path:
    (base / "maildir").mkdir(exist_ok=True)
    questions = ", ".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS)
    return write_config(
        base / "mailbot.toml",
        transport="directory",
        extra=(
            f"[charter]\nsatisfaction_survey = true\nsurvey_questions = [{questions}]\n"
            f'[web]\nlisten = "127.0.0.1:{free_port()}"\nmax_upload_mb = 1\n'
            f'rate_limit = "{rate_limit}"\n'
        ),
        **config,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[Services, str]]:
    """A served form on a throw-away database: the services and the form's address."""
    services = make_services(desk_config(tmp_path))
    server = WebServer(lambda: services)
    server.start()
    yield services, f"http://127.0.0.1:{server.port}"
    server.stop()
    services.engine.dispose()


def fill(driver, url: str, subject: str = "Lampione spento", **fields: str) -> None:
    driver.get(url + "/")
    values = {"name": "Anna Verdi", "email": "anna.verdi@example.net", "phone": "0612345"}
    values |= {"subject": subject, "text": "Il lampione di via Roma 3 è spento da una settimana."}
    for name, value in (values | fields).items():
        element = driver.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)


def send(driver, privacy: bool = True) -> None:
    if privacy:
        driver.find_element(By.NAME, "privacy").click()
    driver.find_element(By.ID, "send").click()


def test_a_complaint_from_the_form_is_filed_like_a_mail(desk, browser, tmp_path):
    services, url = desk
    letter = tmp_path / "foto-lampione.pdf"
    letter.write_bytes(b"%PDF-1.4 la foto del lampione\n")
    fill(browser, url)
    browser.find_element(By.NAME, "files").send_keys(str(letter))
    assert "Informativa sul trattamento dei dati personali" in browser.page_source
    send(browser)

    number = browser.find_element(By.ID, "number").text
    [case] = rows(services, WorkOrder)
    assert number == case.number and case.channel == "web" and case.subject == "Lampione spento"
    [attachment] = rows(services, StoredAttachment)
    assert attachment.filename == "foto-lampione.pdf"
    assert services.store.get(attachment.sha256) == letter.read_bytes()
    outbox = {o.kind: o for o in rows(services, OutboundMessage)}
    confirmation = outbox["confirmation"]
    assert confirmation.recipients == "anna.verdi@example.net"
    assert case.number in message_from_bytes(confirmation.raw, policy=default)["Subject"]
    entered = [e for e in rows(services, Event) if e.kind == "work_order.entered"]
    assert [e.actor for e in entered] == ["web"]


def test_without_accepting_the_privacy_notice_nothing_is_filed(desk, browser):
    services, url = desk
    fill(browser, url)
    send(browser, privacy=False)  # the browser itself refuses: the box is required
    assert browser.find_elements(By.ID, "complaint") and not rows(services, WorkOrder)
    browser.execute_script("document.getElementById('complaint').noValidate = true")
    send(browser, privacy=False)  # and so does the server, when the browser lets it through
    error = browser.find_element(By.ID, "privacy-error").text
    assert "occorre accettare l'informativa" in error
    assert not rows(services, WorkOrder)


def test_a_post_from_another_site_is_refused(desk):
    services, url = desk
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    body = "subject=Spam&text=Compra+ora&privacy=y"
    connection.request("POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 400
    assert "La pagina è scaduta" in response.read().decode()
    assert not rows(services, WorkOrder)


def test_attachments_over_the_cap_get_the_form_back_with_the_text(desk, browser, tmp_path):
    services, url = desk
    big = tmp_path / "scansione.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (1100 * 1024))  # 1.1 MB against a 1 MB cap
    fill(browser, url, text="Allego la scansione della bolletta.")
    browser.find_element(By.NAME, "files").send_keys(str(big))
    send(browser)
    assert "superano il limite di 1 MB" in browser.find_element(By.ID, "files-error").text
    assert browser.find_element(By.NAME, "text").get_attribute("value") == (
        "Allego la scansione della bolletta."
    )
    assert not rows(services, WorkOrder)


def test_the_rate_limit_counts_filed_submissions_only(tmp_path, browser):
    services = make_services(desk_config(tmp_path, rate_limit="2 per hour"))
    server = WebServer(lambda: services)
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        fill(browser, url, subject="")
        browser.execute_script("document.getElementById('complaint').noValidate = true")
        send(browser)  # refused for the missing subject: not counted
        assert browser.find_element(By.ID, "subject-error").text
        for n in (1, 2):
            fill(browser, url, subject=f"Segnalazione {n}")
            send(browser)
            assert browser.find_element(By.ID, "number").text
        fill(browser, url, subject="Segnalazione 3")
        send(browser)
        assert "Troppe segnalazioni" in browser.find_element(By.ID, "message").text
        assert len(rows(services, WorkOrder)) == 2
    finally:
        server.stop()
        services.engine.dispose()


def test_the_questionnaire_of_a_closed_case_is_answered_on_its_page(desk, browser):
    services, url = desk
    fill(browser, url)
    send(browser)
    browser.find_element(By.ID, "number")  # the filed page: the case is there
    [case] = rows(services, WorkOrder)
    browser.get(f"{url}/questionario/{case.reply_token}")
    assert "Il questionario non è disponibile" in browser.page_source  # confirms nothing
    assert case.number not in browser.page_source

    operator_action(services, case.number, OPERATOR, "#esito fondato\n#chiudi\nRiparato.")
    browser.get(f"{url}/questionario/{case.reply_token}")
    for question in QUESTIONS:
        assert question in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "input[name=q0][value='4']").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=q1][value='2']").click()
    browser.find_element(By.NAME, "comment").send_keys("Gentili, ma lenti.")
    browser.find_element(By.ID, "send").click()
    assert "Abbiamo registrato le Sue risposte" in browser.find_element(By.ID, "message").text
    [response] = rows(services, SurveyResponse)
    assert json.loads(response.scores) == [4, 2] and response.channel == "web"
    assert json.loads(response.questions) == list(QUESTIONS)
    assert response.comment == "Gentili, ma lenti."
    with Session(services.engine) as session:
        closed = session.exec(select(WorkOrder)).one()
        assert closed.satisfaction == 3 and closed.status == "closed"

    browser.get(f"{url}/questionario/{case.reply_token}")
    assert "già stato compilato" in browser.find_element(By.ID, "message").text
    browser.get(f"{url}/questionario/{'x' * 24}")
    assert "Il questionario non è disponibile" in browser.find_element(By.ID, "message").text


def test_the_pages_keep_their_style_under_the_content_security_policy(desk, browser):
    _, url = desk
    browser.get(url + "/")
    # The inline style holds the page's nonce: refused, the button would keep the UA's margin.
    margin = browser.find_element(By.ID, "send").value_of_css_property("margin-top")
    assert margin == "24px"  # 1.5rem, from the style sheet
    policy = browser.execute_script(
        "return document.querySelector('style').nonce ? 'nonced' : 'bare'"
    )
    assert policy == "nonced"
    fill(browser, url)
    send(browser)
    number = browser.find_element(By.ID, "number").text  # waits for the page
    assert browser.current_url == url + "/ricevuta"  # Post/Redirect/Get
    browser.refresh()  # a refresh posts nothing
    assert browser.find_element(By.ID, "number").text == number


def test_the_daemon_serves_the_form_and_sends_the_confirmation(tmp_path, browser, smtp):
    config = desk_config(tmp_path, smtp_port=smtp.port)
    config.write_text(config.read_text().replace('transport = "directory"', 'transport = "smtp"'))
    port = config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0]
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("web form listening")
        fill(browser, f"http://127.0.0.1:{port}")
        send(browser)
        number = browser.find_element(By.ID, "number").text
        received = {r.rcpt_tos[0]: r for r in smtp.wait_for(2)}
        citizen = message_from_bytes(received["anna.verdi@example.net"].data, policy=default)
        assert number in citizen["Subject"]
        assert "urp@comune.example.it" in received
    finally:
        assert daemon.stop() == 0


def test_a_taken_port_is_named_as_a_configuration_error(desk):
    services, _ = desk
    with pytest.raises(ConfigError, match=r"web.listen: cannot listen on 127\.0\.0\.1:\d+"):
        WebServer(lambda: services)


def test_mailbot_web_serves_the_pages_alone_and_stops_on_sigterm(tmp_path):
    config = desk_config(tmp_path)
    port = int(config.read_text().split('listen = "127.0.0.1:')[1].split('"')[0])
    with serving(config, "web") as proc:
        wait_for_port(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and 'id="complaint"' in response.read().decode()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "web form stopped" in (proc.stderr.read() if proc.stderr else "")

    config.write_text(config.read_text().replace("listen = ", "# listen = "))
    refused = run_cli("--config", str(config), "web")
    assert refused.returncode == 2 and "web.listen: not set" in refused.stderr
    assert "Traceback" not in refused.stderr
