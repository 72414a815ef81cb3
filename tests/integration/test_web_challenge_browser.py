"""The proof of work in a real headless Chromium: with `[web] challenge = "altcha"` the
browser solves the challenge with mailbot's own /challenge.js and the complaint is filed; with
JavaScript's answer removed the form comes back with the message and nothing is filed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from mailbot.models import WorkOrder
from mailbot.services import Services
from mailbot.web.server import WebServer

from support.app import make_services, rows, write_config
from support.browser import chromium
from support.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[Services, str]]:
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f'[web]\nlisten = "127.0.0.1:{free_port()}"\nrate_limit = "100 per minute"\n'
        'challenge = "altcha"\n',
    )
    services = make_services(config)
    server = WebServer(lambda: services)
    server.start()
    yield services, f"http://127.0.0.1:{server.port}"
    server.stop()
    services.engine.dispose()


def fill(driver, url: str) -> None:
    driver.get(url + "/")
    values = {"name": "Anna Verdi", "email": "anna.verdi@example.net"}
    values |= {"subject": "Lampione spento", "text": "Il lampione di via Roma 3 è spento."}
    for name, value in values.items():
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.NAME, "privacy").click()


def test_the_browser_solves_the_challenge_and_the_complaint_is_filed(desk):
    services, url = desk
    with chromium() as browser:
        fill(browser, url)
        browser.find_element(By.ID, "send").click()
        number = browser.find_element(By.CSS_SELECTOR, "strong#number").text
        [case] = rows(services, WorkOrder)
        assert number == case.number and case.subject == "Lampione spento"
        # A browser whose answer never reaches the server: the form back, nothing filed.
        fill(browser, url)
        browser.execute_script(
            "var f = document.querySelector('input[data-challenge]');"
            "f.removeAttribute('data-challenge'); f.value = '';"
            "document.getElementById('complaint').submit();"
        )
        assert (
            "non è stato possibile verificare"
            in browser.find_element(By.ID, "challenge-error").text.lower()
        )
        assert len(rows(services, WorkOrder)) == 1
