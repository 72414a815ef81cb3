"""IMAP over TLS and STARTTLS, SMTP over STARTTLS and TLS, with a private CA (`ca_file`):
certificates are always verified."""

from __future__ import annotations

import pytest

from support.app import IMAP_PASSWORD, imap_mailbox, run_cli, write_config
from support.servers import SmtpServer, server_context

pytestmark = pytest.mark.integration


@pytest.fixture(params=["starttls", "tls"])
def tls_smtp(request, dovecot):
    context = server_context(dovecot.cert, dovecot.key)
    kind = request.param
    server = (
        SmtpServer(starttls=context) if kind == "starttls" else SmtpServer(implicit_tls=context)
    )
    server.start()
    yield kind, server
    server.stop()


def tls_config(tmp_path, dovecot, user, imap_security, smtp, smtp_security, ca=True):
    path = write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(
            dovecot.tls_port if imap_security == "tls" else dovecot.port,
            user,
            security=imap_security,
            **({"ca_file": str(dovecot.cert)} if ca else {}),
        ),
    )
    extra = f'security = "{smtp_security}"\n' + (f'ca_file = "{dovecot.cert}"\n' if ca else "")
    path.write_text(path.read_text().replace("[smtp]\n", "[smtp]\n" + extra))
    return path


@pytest.mark.parametrize("imap_security", ["tls", "starttls"])
def test_mail_flows_over_tls_with_a_private_ca(
    tmp_path, dovecot, imap_user, tls_smtp, imap_security
):
    smtp_security, smtp = tls_smtp
    config = tls_config(tmp_path, dovecot, imap_user, imap_security, smtp, smtp_security)
    from support.mail import citizen_mail

    dovecot.append(imap_user, IMAP_PASSWORD, [citizen_mail(3)])
    assert run_cli("--config", str(config), "db", "upgrade").returncode == 0
    check = run_cli("--config", str(config), "check")
    assert check.returncode == 0, check.stdout
    assert f"ok    smtp: 127.0.0.1:{smtp.port} ({smtp_security}) reachable" in check.stdout
    result = run_cli("--config", str(config), "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "suggerimenti: 1 filed" in result.stdout
    assert sorted(r.rcpt_tos[0] for r in smtp.wait_for(2)) == [
        "cittadino3@example.net",
        "urp@comune.example.it",
    ]


def test_an_unknown_certificate_is_refused_in_one_line(tmp_path, dovecot, imap_user, smtp):
    config = tls_config(tmp_path, dovecot, imap_user, "tls", smtp, "none", ca=False)
    assert run_cli("--config", str(config), "db", "upgrade").returncode == 0
    result = run_cli("--config", str(config), "check")
    assert result.returncode == 1
    [line] = [ln for ln in result.stdout.splitlines() if "mailbox suggerimenti" in ln]
    assert line.startswith("FAIL  mailbox suggerimenti: cannot connect to ")
    assert "CERTIFICATE_VERIFY_FAILED" in line
