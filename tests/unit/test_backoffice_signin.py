"""Signing in to the back office (backoffice/signin.py, links.py, oidc.py): a one-time link by
mail, good once and for a while, that tells no stranger who works there and cannot flood a
mailbox; `next` never leads off the site; sign-out ends the session; `mailbot backoffice link`
prints a link for a member and refuses anyone else; single sign-on errors are pages."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import timedelta
from email.policy import default
from html import unescape

import pytest
import time_machine
from structlog.testing import capture_logs

from mailbot.backoffice import links, sessions
from mailbot.models import Event, StaffSession, StaffSignIn
from mailbot.runtime import web_process

from support.app import make_services, rows, run_cli, sent, write_config
from support.backoffice import csrf, office_client, sign_in

MEMBER = "anna.bianchi@comune.example.it"
STRANGER = "chiunque@esterno.example.org"
STAFF = f"""
[[staff]]
email = "{MEMBER}"
name = "Anna Bianchi"
roles = ["responsible"]
offices = ["urp"]
[backoffice]
listen = "127.0.0.1:8026"
public_url = "https://reclami.comune.example.it"
link_minutes = 15
"""


@pytest.fixture
def services(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=STAFF))
    yield services
    services.engine.dispose()


@pytest.fixture
def client(services):
    return office_client(services)


def ask(client, address, next_path="/"):
    form = client.get(f"/accesso?next={next_path}").get_data(as_text=True)
    return client.post(
        "/accesso", data={"address": address, "next": next_path, "csrf_token": csrf(form)}
    )


def mailed_link(services, n=-1):
    raw = sent(services, "sign_in")[n].raw
    text = email.message_from_bytes(raw, policy=default).get_body(("plain",)).get_content()
    found = re.search(r"https://reclami\.comune\.example\.it(/accesso/[A-Za-z0-9_-]+)", text)
    assert found is not None, text
    return found.group(1)


def use(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True))})


def test_a_member_signs_in_by_a_mailed_link_once(services, client):
    answer = ask(client, "Anna.Bianchi@comune.example.it", "/pratiche/2026-000001")
    assert answer.status_code == 200
    assert "riceverà a breve un messaggio" in answer.get_data(as_text=True)
    (mail,) = sent(services, "sign_in")
    assert mail.recipients == MEMBER
    path = mailed_link(services)
    token = path.rsplit("/", 1)[1]
    (row,) = rows(services, StaffSignIn)
    assert row.token_hash == sessions.digest(token) and token not in repr(row)
    assert client.get(path).status_code == 200  # opening it (a mail scanner) uses nothing
    landed = use(client, path)
    assert landed.status_code == 303 and landed.headers["Location"] == "/pratiche/2026-000001"
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Accesso come Anna Bianchi" in page
    again = office_client(services).post(path, data={}).status_code  # no CSRF: refused anyway
    assert again == 400
    second = use_after_refusal(office_client(services), path)
    assert second.status_code == 410 and "già stato usato" in second.get_data(as_text=True)
    assert len(rows(services, StaffSession)) == 1


def use_after_refusal(client, path):
    """A used link's page is the form again: post the link with that form's CSRF token."""
    page = client.get(path)
    assert page.status_code == 410 and 'name="address"' in page.get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True))})


def test_two_posts_of_one_link_open_one_session(services, client):
    ask(client, MEMBER)
    path = mailed_link(services)
    token = path.rsplit("/", 1)[1]
    assert isinstance(links.redeem(services, token), tuple)
    assert links.redeem(services, token) == links.USED
    assert use_after_refusal(office_client(services), path).status_code == 410


def test_an_expired_link_is_refused_with_the_form_to_ask_again(services, client, now):
    ask(client, MEMBER)
    path = mailed_link(services)
    other = office_client(services)
    page = other.get(path)
    with time_machine.travel(now + timedelta(minutes=16), tick=False):
        late = other.post(path, data={"csrf_token": csrf(page.get_data(as_text=True))})
        assert late.status_code == 410
        text = late.get_data(as_text=True)
        assert "è scaduto" in text and 'name="address"' in text
        assert other.get(path).status_code == 410
    assert rows(services, StaffSession) == []


@pytest.mark.parametrize("token", ["forged-token-of-nobody", "x" * 500, "%00"])
def test_a_forged_or_unknown_link_is_refused_not_a_crash(client, token):
    page = client.get(f"/accesso/{token}")
    assert page.status_code == 404
    assert "non è valido" in page.get_data(as_text=True)


def test_a_stranger_gets_the_same_answer_and_no_mail_and_no_row(services, client):
    member = ask(client, MEMBER).get_data(as_text=True)
    stranger = ask(office_client(services), STRANGER).get_data(as_text=True)

    def neutral(page, address):
        page = page.replace(address, "ADDRESS")
        return re.sub(r'name="csrf_token" value="[^"]+"', "", re.sub(r'nonce="[^"]+"', "", page))

    assert neutral(member, MEMBER) == neutral(stranger, STRANGER)
    assert [m.recipients for m in sent(services, "sign_in")] == [MEMBER]
    assert [r.address for r in rows(services, StaffSignIn)] == [MEMBER]


def test_an_address_gets_at_most_five_links_an_hour(services, client, now):
    for _ in range(links.LINKS_PER_HOUR + 2):
        assert ask(client, MEMBER).status_code == 200
    assert len(sent(services, "sign_in")) == links.LINKS_PER_HOUR
    with time_machine.travel(now + timedelta(minutes=61), tick=False):
        ask(client, MEMBER)
    assert len(sent(services, "sign_in")) == links.LINKS_PER_HOUR + 1


def test_a_malformed_address_gets_the_form_back_with_a_message(services, client):
    page = ask(client, "not an address")
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and 'aria-invalid="true"' in text
    assert "Indichi un indirizzo e-mail valido" in text
    assert sent(services, "sign_in") == []


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example", "/\\evil.example", "/\t/evil.example", "evil"],
)
def test_next_never_leads_off_the_site(services, client, target):
    assert links.local_path(target) == "/"
    form = client.get("/accesso").get_data(as_text=True)
    client.post("/accesso", data={"address": MEMBER, "next": target, "csrf_token": csrf(form)})
    assert rows(services, StaffSignIn)[-1].next_path == "/"
    assert use(client, mailed_link(services)).headers["Location"] == "/"


def test_sign_out_ends_the_session(services, client):
    token = sign_in(client, services, MEMBER)
    page = client.get("/no-such-page").get_data(as_text=True)
    out = client.post("/esci", data={"csrf_token": csrf(page)})
    assert out.status_code == 303 and out.headers["Location"] == "/accesso"
    assert sessions.member_for(services, token) is None
    assert rows(services, StaffSession)[0].ended_at is not None
    back = unescape(client.get("/accesso").get_data(as_text=True))
    assert "Ha lasciato l'area riservata" in back and "Accesso come" not in back


def test_sign_in_is_recorded_and_no_log_line_holds_the_address(services, client):
    with capture_logs() as logged:
        ask(client, MEMBER)
        answer = use(client, mailed_link(services))
    events = {e.kind: e for e in rows(services, Event)}
    signed = events["backoffice.signed_in"]
    assert signed.actor == MEMBER and '"via": "link"' in signed.data
    assert events["backoffice.link_sent"].actor == MEMBER
    assert logged and MEMBER not in repr(logged)
    cookie = next(h for h in answer.headers.getlist("Set-Cookie") if "mailbot_office=" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signing_in_drops_the_cookie_brought_along(services, client):
    ask(client, MEMBER)
    path = mailed_link(services)
    planted = sessions.open_session(services, MEMBER, "link")  # a session fixed by someone else
    with client.session_transaction() as cookie:
        cookie["sid"], cookie["planted"] = planted, "by an attacker"
    use(client, path)
    with client.session_transaction() as cookie:
        assert "planted" not in cookie and cookie["sid"] != planted
    assert sessions.member_for(services, planted) is None


def test_a_signed_in_member_asking_for_the_form_goes_where_they_asked(services, client):
    sign_in(client, services, MEMBER)
    assert client.get("/accesso?next=/archivio").headers["Location"] == "/archivio"


def test_the_cli_prints_a_link_for_a_member_and_refuses_anyone_else(services, tmp_path):
    config = str(tmp_path / "mailbot.toml")
    done = run_cli("--config", config, "backoffice", "link", MEMBER, "--next", "/archivio")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith("https://reclami.comune.example.it/accesso/")
    landed = use(office_client(services), url.removeprefix("https://reclami.comune.example.it"))
    assert landed.headers["Location"] == "/archivio"
    refused = run_cli("--config", config, "backoffice", "link", STRANGER)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "not a member of the staff directory" in refused.stderr


def test_single_sign_on_with_the_provider_unreachable_is_a_page(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = STAFF + '[backoffice.oidc]\nissuer = "http://127.0.0.1:9"\nclient_id = "mailbot"\n'
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=extra))
    try:
        client = office_client(services)
        form = client.get("/accesso").get_data(as_text=True)
        assert 'href="/accesso/sso?next=/"' in form.replace("%2F", "/")
        page = client.get("/accesso/sso")
        assert page.status_code == 400 and "non è riuscito" in page.get_data(as_text=True)
        denied = client.get("/accesso/sso/ritorno?error=access_denied&state=forged")
        assert denied.status_code == 400 and "non è riuscito" in denied.get_data(as_text=True)
    finally:
        services.engine.dispose()


def test_a_reload_restarts_the_back_office_only_when_its_section_changed(services):
    settings = services.settings
    longer = dataclasses.replace(settings.backoffice, link_minutes=30)
    changed = dataclasses.replace(settings, backoffice=longer)
    other = dataclasses.replace(settings, web=dataclasses.replace(settings.web, port=9999))
    assert web_process._changed("backoffice", settings, changed)
    assert not web_process._changed("backoffice", settings, other)
    assert web_process._changed("web", settings, other)
    assert not web_process._changed("web", settings, changed)
