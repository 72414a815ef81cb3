"""The optional proof of work of the online desk (`[web] challenge = "altcha"`): the form
carries a signed challenge and the script that solves it, served by mailbot; a submission
without a solution, with a forged or an expired one gets the form back with a message and files
nothing; a solution (computed here, as the browser would) files one case, once."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.errors import ConfigError
from mailbot.models import WorkOrder
from mailbot.web.app import create_app

from support.app import make_services, rows, write_config
from support.clock import today_is
from support.web import form_of

NOON = datetime(2026, 3, 11, 12, tzinfo=UTC)


def desk(tmp_path, challenge: str = 'challenge = "altcha"'):
    (tmp_path / "maildir").mkdir(parents=True, exist_ok=True)
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f'[web]\nlisten = "127.0.0.1:8099"\nrate_limit = "100 per hour"\n{challenge}\n',
    )
    services = make_services(config)
    return services, create_app(lambda: services).test_client()


@pytest.fixture
def altcha(tmp_path):
    services, client = desk(tmp_path)
    yield services, client
    services.engine.dispose()


def form_page(client) -> tuple[str, dict | None]:
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'data-challenge="([^"]+)"', page)
    return page, json.loads(html.unescape(found.group(1))) if found else None


def solve(task: dict) -> str:
    """What challenge.js does: the number whose SHA-256 with the salt is the challenge."""
    for n in range(task["maxNumber"] + 1):
        if hashlib.sha256(f"{task['salt']}{n}".encode()).hexdigest() == task["challenge"]:
            fields = ("algorithm", "challenge", "salt", "signature")
            solved = {**{k: task[k] for k in fields}, "number": n}
            return base64.b64encode(json.dumps(solved).encode()).decode()
    raise AssertionError("no solution")


def post(client, page: str, solution: str | None, subject: str = "Buca in via Roma"):
    form = form_of(page, subject=subject, text="Buca.", privacy="y")
    if solution is not None:
        form["altcha"] = solution
    return client.post("/", data=form, follow_redirects=True)


def test_the_form_carries_a_challenge_and_the_script_that_solves_it(altcha):
    _, client = altcha
    page, task = form_page(client)
    assert task is not None and task["algorithm"] == "SHA-256" and task["signature"]
    assert "expires=" in task["salt"]
    assert '<script src="/challenge.js" defer></script>' in page and "<script>" not in page
    script = client.get("/challenge.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert b"sha256hex" in script.data


def test_a_submission_without_a_valid_solution_gets_the_form_back(altcha):
    services, client = altcha
    with today_is(NOON):
        page, task = form_page(client)
        missing = post(client, page, None)
        assert missing.status_code == 400
        shown = missing.get_data(as_text=True)
        assert 'id="challenge-error"' in shown and "Buca in via Roma" in shown
        forged = json.loads(base64.b64decode(solve(task)))
        forged["number"] += 1
        wrong = base64.b64encode(json.dumps(forged).encode()).decode()
        assert post(client, page, wrong).status_code == 400
        resigned = json.loads(base64.b64decode(solve(task))) | {"signature": "0" * 64}
        fake = base64.b64encode(json.dumps(resigned).encode()).decode()
        assert post(client, page, fake).status_code == 400
        assert post(client, page, "not base64 at all!").status_code == 400
    assert rows(services, WorkOrder) == []


def test_a_solution_files_one_case_and_only_once(altcha):
    services, client = altcha
    with today_is(NOON):
        page, task = form_page(client)
        solution = solve(task)
        filed = post(client, page, solution)
        assert filed.status_code == 200 and '<strong id="number">' in filed.get_data(as_text=True)
        again, _ = form_page(client)  # a fresh CSRF token, the same solution replayed
        replay = post(client, again, solution, subject="Altra segnalazione")
        assert replay.status_code == 200  # the thank-you of the case it already filed
    assert [c.subject for c in rows(services, WorkOrder)] == ["Buca in via Roma"]


def test_an_expired_challenge_is_refused(altcha):
    services, client = altcha
    with today_is(NOON):
        _, task = form_page(client)
    solution = solve(task)
    with today_is(NOON + timedelta(hours=7)):
        assert post(client, form_page(client)[0], solution).status_code == 400
    assert rows(services, WorkOrder) == []


def test_off_by_default_and_only_altcha_is_known(tmp_path):
    services, client = desk(tmp_path / "off", challenge="")
    try:
        page, task = form_page(client)
        assert task is None and "challenge.js" not in page
        assert post(client, page, None).status_code == 200
    finally:
        services.engine.dispose()
    with pytest.raises(ConfigError, match=r"web\.challenge"):
        desk(tmp_path / "bad", challenge='challenge = "recaptcha"')


def test_a_submission_key_is_hex_or_refused(altcha):
    services, _ = altcha
    from mailbot import entry
    from mailbot.errors import InputError

    bad = entry.Submission(channel="web", subject="x", text="y", key="../../etc/passwd")
    with pytest.raises(InputError, match="key"):
        entry.file_submission(services, bad, actor="web")
    keyed = entry.Submission(channel="web", subject="x", text="y", key="ab" * 12)
    assert entry.file_submission(services, keyed, actor="web").work_order_number
    assert entry.file_submission(services, keyed, actor="web").duplicate
