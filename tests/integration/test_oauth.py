"""Modern sign-in: IMAP and SMTP with OAuth2 (XOAUTH2), against a real Dovecot whose oauth2
passdb checks each token at a real authorization server (tests/oauth_server.py), and an SMTP
server that requires AUTH XOAUTH2."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from mailbot import config as config_module
from mailbot.config import OAuthSettings, Secret
from mailbot.errors import ConfigError
from mailbot.models import WorkOrder
from mailbot.net.oauth import TokenRefusedError, TokenSource, TokenUnavailableError

from support.app import Daemon, complaint, make_services, rows, run_cli, write_config
from support.oauth_server import TokenServer
from support.servers import Dovecot, SmtpServer, free_port

USER = "suggerimenti@comune.example.it"
CLIENT_ID, CLIENT_SECRET = "mailbot-app", "s3cret-value"


@pytest.fixture(scope="module")
def authz() -> Iterator[TokenServer]:
    server = TokenServer(CLIENT_ID, CLIENT_SECRET, USER, refresh_token="rt-initial")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def oauth_dovecot(authz: TokenServer) -> Iterator[Dovecot]:
    root = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-oauth-"))
    os.chmod(root, 0o755)
    server = Dovecot(root, introspection_url=f"{authz.url}/introspect")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def oauth_smtp(authz: TokenServer) -> Iterator[SmtpServer]:
    server = SmtpServer(xoauth2=lambda user, token: user == USER and authz.valid(token))
    server.start()
    yield server
    server.stop()


def imap(dovecot: Dovecot, authz: TokenServer) -> IMAPClient:
    """A client that signs in the same way (it puts mail in, or clears the box)."""
    token = authz._grant(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )[1]["access_token"]
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.oauth2_login(USER, str(token))
    return client


def append(dovecot: Dovecot, authz: TokenServer, messages: list[bytes]) -> None:
    client = imap(dovecot, authz)
    for raw in messages:
        client.append("INBOX", raw)
    client.logout()


@pytest.fixture(autouse=True)
def empty_inbox(request: pytest.FixtureRequest) -> None:
    """The module's Dovecot is shared: each test starts with an empty INBOX."""
    if "oauth_dovecot" not in request.fixturenames:
        return
    client = imap(request.getfixturevalue("oauth_dovecot"), request.getfixturevalue("authz"))
    client.select_folder("INBOX")
    uids = client.search()
    if uids:
        client.delete_messages(uids)
        client.expunge()
    client.logout()


def oauth_table(authz: TokenServer, where: str) -> str:
    return f"""[{where}.oauth2]
provider = "generic"
token_url = "{authz.url}/token"
client_id = "{CLIENT_ID}"
client_secret_env = "MAILBOT_OAUTH_SECRET"
"""


def oauth_config(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, authz: TokenServer) -> Path:
    config = write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox={
            "source": "imap",
            "host": "127.0.0.1",
            "port": dovecot.port,
            "username": USER,
            "auth": "oauth2",
            "poll_seconds": 1,
        },
    )
    text = config.read_text()
    text = text.replace(
        'from_name = "Comune di Esempio - URP"\n',
        f'from_name = "Comune di Esempio - URP"\nusername = "{USER}"\nauth = "oauth2"\n'
        + oauth_table(authz, "smtp"),
    )
    text = text.replace("[[offices]]", oauth_table(authz, "mailboxes") + "[[offices]]")
    config.write_text(text)
    return config


ENV = {"MAILBOT_OAUTH_SECRET": CLIENT_SECRET}


def test_imap_and_smtp_sign_in_with_xoauth2(tmp_path, oauth_dovecot, oauth_smtp, authz):
    config = oauth_config(tmp_path, oauth_dovecot, oauth_smtp, authz)
    append(oauth_dovecot, authz, [complaint(1), complaint(2)])
    grants = len(authz.grants)
    done = run_cli("--config", str(config), "run", "--once", env=ENV)
    assert done.returncode == 0, done.stderr
    services = make_services(config)
    assert len(rows(services, WorkOrder)) == 2
    assert len(oauth_smtp.received) == 4  # confirmations and office notifications
    assert oauth_smtp.handler.logins == [USER]  # one connection, signed in by token
    new = authz.grants[grants:]
    assert [g["grant_type"] for g in new] == ["client_credentials", "client_credentials"]
    assert all(g["client_secret"] == CLIENT_SECRET for g in new)
    assert CLIENT_SECRET not in done.stderr and "at-" not in done.stderr  # secrets never logged

    checked = run_cli("--config", str(config), "check", env=ENV)
    assert "ok    mailbox suggerimenti: IMAP" in checked.stdout, checked.stdout
    assert "ok    oauth2 mailboxes[0].oauth2: token obtained" in checked.stdout
    assert "ok    oauth2 smtp.oauth2: token obtained" in checked.stdout
    assert f"login accepted for {USER}" in checked.stdout


def test_a_revoked_token_is_replaced_without_losing_mail(
    tmp_path, oauth_dovecot, oauth_smtp, authz
):
    config = oauth_config(tmp_path, oauth_dovecot, oauth_smtp, authz)
    daemon = Daemon(config, env=ENV)
    try:
        daemon.wait_for_log("mailbox connected")
        append(oauth_dovecot, authz, [complaint(11)])
        daemon.wait_for_log("inbound processed")
        # The admin revokes every token and the server restarts (sessions end).
        grants = len(authz.grants)
        authz.revoke_all()
        oauth_dovecot.stop()
        oauth_dovecot.start()
        append(oauth_dovecot, authz, [complaint(12)])  # one grant for this client
        daemon.wait_for_log("inbound processed", count=2, timeout=60)
        assert len(authz.grants) >= grants + 2, daemon.log  # and ours: a new token
        oauth_smtp.wait_for(4)  # the SMTP token was revoked too: replaced the same way
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert "login refused" not in daemon.log  # the retry with a fresh token got in at once
    assert len(rows(make_services(config), WorkOrder)) == 2
    assert len(oauth_smtp.received) == 4


def test_a_wrong_client_secret_is_a_clear_check_failure(tmp_path, oauth_dovecot, oauth_smtp, authz):
    config = oauth_config(tmp_path, oauth_dovecot, oauth_smtp, authz)
    checked = run_cli("--config", str(config), "check", env={"MAILBOT_OAUTH_SECRET": "wrong"})
    assert checked.returncode == 1
    assert (
        "FAIL  oauth2 mailboxes[0].oauth2: mailboxes[0].oauth2: the token endpoint refused the "
        "sign-in (401): invalid_client: bad secret" in checked.stdout
    ), checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr


def settings_for(authz: TokenServer, flow: str) -> OAuthSettings:
    os.environ["MAILBOT_TEST_RT"] = "rt-initial"
    os.environ["MAILBOT_OAUTH_SECRET"] = CLIENT_SECRET
    return OAuthSettings(
        key="mailboxes[0].oauth2",
        provider="generic",
        flow=flow,
        token_url=f"{authz.url}/token",
        client_id=CLIENT_ID,
        client_secret=Secret("x", env="MAILBOT_OAUTH_SECRET", name="client_secret"),
        refresh_token=Secret("x", env="MAILBOT_TEST_RT", name="refresh_token"),
        scope="https://mail.example/.default",
    )


def test_token_is_reused_until_a_minute_before_expiry(authz):
    now = [1000.0]
    authz.expires_in = 300
    try:
        tokens = TokenSource(settings_for(authz, "client_credentials"), clock=lambda: now[0])
        first = tokens.token()
        now[0] += 200
        assert tokens.token() == first and tokens.fetched == 1
        now[0] += 41  # 241 s: less than 60 s left
        second = tokens.token()
        assert second != first and tokens.fetched == 2
        assert authz.valid(second)
        assert authz.grants[-1]["scope"] == "https://mail.example/.default"
    finally:
        authz.expires_in = 3600


def test_refresh_token_flow_follows_a_rotated_refresh_token(authz):
    authz.rotate = True
    try:
        tokens = TokenSource(settings_for(authz, "refresh_token"))
        tokens.token()
        assert authz.grants[-1]["refresh_token"] == "rt-initial"
        (rotated,) = authz.refresh_tokens  # the old one is no longer accepted
        tokens.invalidate()
        assert authz.valid(tokens.token())
        assert authz.grants[-1]["refresh_token"] == rotated
    finally:
        authz.rotate = False
        authz.refresh_tokens = {"rt-initial"}


def test_token_endpoint_errors(authz):
    os.environ["MAILBOT_TEST_RT"] = "rt-expired"
    tokens = TokenSource(
        OAuthSettings(
            **{
                **settings_for(authz, "refresh_token").__dict__,
                "refresh_token": Secret("x", env="MAILBOT_TEST_RT_BAD", name="refresh_token"),
            }
        )
    )
    os.environ["MAILBOT_TEST_RT_BAD"] = "rt-expired"
    with pytest.raises(TokenRefusedError, match=r"\(400\): invalid_grant: AADSTS70008"):
        tokens.token()
    down = TokenSource(
        OAuthSettings(
            **{
                **settings_for(authz, "client_credentials").__dict__,
                "token_url": f"http://127.0.0.1:{free_port()}/token",
            }
        )
    )
    with pytest.raises(TokenUnavailableError, match="unreachable"):
        down.token()


@pytest.mark.parametrize(
    ("oauth", "error"),
    [
        (
            'provider = "google"\nclient_id = "x"\nclient_secret_env = "S"',
            "mailboxes[0].oauth2.flow: Google does not grant client credentials for mail; "
            'use flow = "refresh_token"',
        ),
        (
            'provider = "microsoft"\nclient_id = "x"\nclient_secret_env = "S"',
            "mailboxes[0].oauth2.tenant: missing",
        ),
        (
            'provider = "microsoft"\ntenant = "t"\nflow = "refresh_token"\nclient_id = "x"',
            "mailboxes[0].oauth2.refresh_token_env: missing",
        ),
        (
            'provider = "generic"\nclient_id = "x"\nclient_secret_env = "S"',
            "mailboxes[0].oauth2.token_url: missing (required with provider = generic)",
        ),
        (
            'provider = "generic"\ntoken_url = "https://t/x"\nclient_id = "x"\n'
            'client_secret = "inline"',
            "mailboxes[0].oauth2.client_secret: inline client secrets are not accepted",
        ),
    ],
)
def test_oauth_config_errors_name_the_key(tmp_path, oauth, error):
    config = write_config(
        tmp_path / "mailbot.toml",
        mailbox={"source": "imap", "host": "h", "username": "u", "auth": "oauth2"},
    )
    config.write_text(
        config.read_text().replace("[[offices]]", f"[mailboxes.oauth2]\n{oauth}\n[[offices]]")
    )
    with pytest.raises(ConfigError) as caught:
        config_module.load(config)
    assert str(caught.value).startswith(error), str(caught.value)


def test_microsoft_and_google_defaults(tmp_path):
    config = write_config(
        tmp_path / "mailbot.toml",
        mailbox={"source": "imap", "host": "h", "username": "u", "auth": "oauth2"},
    )
    base = config.read_text()
    config.write_text(
        base.replace(
            "[[offices]]",
            '[mailboxes.oauth2]\nprovider = "microsoft"\ntenant = "comune.onmicrosoft.com"\n'
            'client_id = "x"\nclient_secret_file = "/run/credentials/mailbot.service/oauth"\n'
            "[[offices]]",
        )
    )
    ms = config_module.load(config).mailboxes[0].oauth
    assert ms is not None
    assert ms.token_url == (
        "https://login.microsoftonline.com/comune.onmicrosoft.com/oauth2/v2.0/token"
    )
    assert ms.scope == "https://outlook.office365.com/.default"
    config.write_text(
        base.replace(
            "[[offices]]",
            '[mailboxes.oauth2]\nprovider = "google"\nflow = "refresh_token"\nclient_id = "x"\n'
            'client_secret_env = "S"\nrefresh_token_env = "R"\n[[offices]]',
        )
    )
    google = config_module.load(config).mailboxes[0].oauth
    assert google is not None
    assert (google.token_url, google.scope) == (
        "https://oauth2.googleapis.com/token",
        "https://mail.google.com/",
    )
