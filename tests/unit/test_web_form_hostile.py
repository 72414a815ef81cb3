"""The online desk against a hostile visitor (issue 28), through Flask's test client: each
test posts the crafted request an attacker would. (Headers in a real browser, under the CSP:
tests/integration/test_web_form.py.)"""

from __future__ import annotations

import json
import re

import pytest
from structlog.testing import capture_logs

from mailbot.cases import views
from mailbot.cases.operator import operator_action
from mailbot.db import unit_of_work
from mailbot.models import (
    Contact,
    ConversationMessage,
    Event,
    OutboundMessage,
    SurveyResponse,
    WorkOrder,
)
from mailbot.web.app import create_app

from support.app import complaint, make_process, make_services, rows, run_cli, write_config
from support.web import hidden

OPERATOR = "mario.rossi@comune.example.it"


@pytest.fixture
def desk(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra='[charter]\nsatisfaction_survey = true\n[web]\nlisten = "127.0.0.1:8099"\n'
        'rate_limit = "100 per hour"\n',
    )
    services = make_services(config)
    yield services, create_app(lambda: services).test_client()
    services.engine.dispose()


def shown_form(client) -> dict[str, str]:
    page = client.get("/").get_data(as_text=True)
    form = {"csrf_token": hidden(page, "csrf_token")}
    if 'name="submission"' in page:  # the form of a desk with no submission id has none
        form["submission"] = hidden(page, "submission")
    return form


def submit(client, form: dict[str, str] | None = None, **fields):
    data = (form or shown_form(client)) | {"subject": "Buca", "text": "Buca.", "privacy": "y"}
    return client.post("/", data=data | fields)


def citizen_case(services) -> WorkOrder:
    """Cittadino 1's case, opened by mail, with his name and phone on his contact."""
    make_process(services)(complaint(1, "Lampione spento"))
    with unit_of_work(services.engine) as session:
        [contact] = session.exec(Contact.__table__.select()).all()
        session.get(Contact, contact.id).phone = "0471 111111"
    [case] = rows(services, WorkOrder)
    return case


def test_a_subject_tag_and_a_citizens_address_open_a_new_case_not_a_follow_up(desk):
    services, client = desk
    case = citizen_case(services)
    operator_action(services, case.number, OPERATOR, "#esito fondato\n#chiudi\nRiparato.")
    answer = submit(
        client, email="cittadino1@example.net", subject=f"Re: [Pratica {case.number}] ancora"
    )
    assert answer.status_code == 303
    thanks = client.get(answer.headers["Location"]).get_data(as_text=True)
    first, second = rows(services, WorkOrder)
    assert first.status == "closed"  # not reopened
    assert second.number in thanks and case.number not in thanks
    mine = [m for m in rows(services, ConversationMessage) if m.work_order_id == first.id]
    assert "citizen_followup" not in [m.kind for m in mine]  # nothing added to his case


def test_a_known_address_with_another_name_and_phone_changes_no_contact(desk, tmp_path):
    services, client = desk
    citizen_case(services)
    submit(client, email="cittadino1@example.net", name="Mallory Stranger", phone="333 999")
    [contact] = rows(services, Contact)
    assert contact.name == "Cittadino 1" and contact.phone == "0471 111111"
    web_case = rows(services, WorkOrder)[-1]
    with unit_of_work(services.engine) as session:
        shown = views.show_work_order(session, web_case.number, services.settings.timezone)
    assert shown["submitted"] == {
        "name": "Mallory Stranger",
        "phone": "333 999",
        "email": "cittadino1@example.net",
    }
    notification = next(
        o for o in rows(services, OutboundMessage)
        if o.kind == "notification" and o.work_order_id == web_case.id
    )  # fmt: skip
    text = notification.raw.decode()
    assert "Mallory Stranger" in text and "333 999" in text and "0471 111111" not in text
    cli = run_cli("--config", str(tmp_path / "mailbot.toml"), "workorders", "show", web_case.number)
    assert "Contact: Cittadino 1" in cli.stdout
    assert "Web form (unverified): Mallory Stranger, cittadino1@example.net, 333 999" in cli.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Anna\r\nBcc: vittima@example.net"),
        ("subject", "Buca\nX-Injected: 1"),
        ("subject", "Buca\u2028in via Roma"),
        ("name", "Anna\u2029Verdi"),
        ("files", "non un file"),
        ("text", "Buca\x00"),
    ],
)
def test_line_breaks_and_a_text_for_files_get_the_form_back_with_a_message(desk, field, value):
    services, client = desk
    with capture_logs() as logs:
        answer = submit(client, **{field: value})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f'id="{field}-error"' in page
    assert not [line for line in logs if line["log_level"] == "error"]
    assert not rows(services, WorkOrder)


def test_an_internationalised_address_is_accepted_and_mailed_idna_encoded(desk):
    services, client = desk
    assert submit(client, email="utente@dominio-è.it").status_code == 303
    [case] = rows(services, WorkOrder)
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    assert confirmation.recipients == "utente@xn--dominio--80a.it"
    with unit_of_work(services.engine) as session:
        shown = views.show_work_order(session, case.number, services.settings.timezone)
    assert shown["submitted"]["email"] == "utente@dominio-è.it"  # as typed, for people


@pytest.mark.parametrize(
    "address", ["a@example.com.", "g:x@y.it;", "foo,x@y.it", "user@[127.0.0.1]", "ù@example.it"]
)
def test_an_address_the_pipeline_would_not_read_is_refused_on_the_form(desk, address):
    services, client = desk
    answer = submit(client, email=address)
    assert answer.status_code == 400 and 'id="email-error"' in answer.get_data(as_text=True)
    assert not rows(services, WorkOrder) and not rows(services, OutboundMessage)


def test_the_same_form_posted_twice_is_one_case_and_both_answers_name_it(desk):
    services, client = desk
    form = shown_form(client)
    first = submit(client, form, email="anna@example.net")
    again = submit(client, form, email="anna@example.net")
    assert first.status_code == again.status_code == 303
    [case] = rows(services, WorkOrder)
    assert case.number in client.get("/ricevuta").get_data(as_text=True)
    refresh = client.get("/ricevuta")  # the thank-you page posts nothing
    assert refresh.status_code == 200 and len(rows(services, WorkOrder)) == 1
    forged = submit(client, form | {"submission": "x" + form["submission"][1:]})
    assert forged.status_code == 400 and len(rows(services, WorkOrder)) == 1


def closed_case(services, client) -> WorkOrder:
    submit(client, email="anna@example.net")
    [case] = rows(services, WorkOrder)
    return case


def test_an_open_cases_questionnaire_looks_like_an_unknown_one(desk):
    services, client = desk
    case = closed_case(services, client)
    open_page = client.get(f"/questionario/{case.reply_token}")
    unknown = client.get(f"/questionario/{'x' * 24}")
    assert open_page.status_code == unknown.status_code == 404

    def unnonced(page) -> str:
        return re.sub(r'nonce="[^"]+"', "", page.get_data(as_text=True))

    assert unnonced(open_page) == unnonced(unknown)
    assert case.number not in open_page.get_data(as_text=True)


def test_a_questionnaire_is_answered_once(desk):
    services, client = desk
    case = closed_case(services, client)
    operator_action(services, case.number, OPERATOR, "#esito fondato\n#chiudi\nRiparato.")
    url = f"/questionario/{case.reply_token}"
    page = client.get(url).get_data(as_text=True)
    token, asked = hidden(page, "csrf_token"), set(re.findall(r'name="(q\d+)"', page))
    answers = [
        client.post(url, data={"csrf_token": token} | dict.fromkeys(asked, s)) for s in "511"
    ]
    assert [a.status_code for a in answers] == [200, 409, 409]
    [response] = rows(services, SurveyResponse)
    assert json.loads(response.scores)[0] == 5
    answered = [e for e in rows(services, Event) if e.kind == "work_order.satisfaction"]
    assert len(answered) == 1
    assert "già stato compilato" in client.get(url).get_data(as_text=True)


def test_every_page_carries_the_security_headers(desk):
    _, client = desk
    pages = [client.get("/"), submit(client, subject=""), client.get("/questionario/xxxxxxxxxx")]
    for page in pages:
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce is not None and f'<style nonce="{nonce.group(1)}">' in page.get_data(True)
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["Cache-Control"] == "no-store"


def test_a_rolled_back_submission_is_logged_without_a_case_number(desk, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("the office's template is broken")

    services, client = desk
    monkeypatch.setattr(services.composer, "to_office", broken)
    capsys.readouterr()
    submit(client, email="anna@example.net")
    assert not rows(services, WorkOrder)
    logged = "".join(capsys.readouterr())
    assert "inbound not filed" in logged and "2026/000001" not in logged
