"""The desk flow of issue 29 end to end, against real Dovecot and SMTP servers (and the test
database: SQLite, or PostgreSQL with MAILBOT_TEST_DATABASE=postgresql): a desk (sportello) of
a regional agency opens a case at its counter; the competent office answers it by mail; the
answer goes to the desk, not to the firm; the desk relays it with `#approva`, which also
carries out the office's `#chiudi`; the citizen gets the answer and the closing letter with
the satisfaction request, both from the desk. The test plays the MTA (support/mail.Post)."""

from __future__ import annotations

import json

import pytest

from integration.test_e2e_conversation import arrives, plain

from support.app import imap_mailbox, run_cli, write_config
from support.mail import Post

pytestmark = pytest.mark.integration

INSTITUTION = "suggerimenti@comune.example.it"
OFFICE = "urp@comune.example.it"
OPERATOR = "mario.rossi@comune.example.it"
CITIZEN = "ditta.rossi@example.net"
DESK = "sportello.bari@agenzia.example.it"
DESK_MEMBER = "anna.bianchi@agenzia.example.it"

DESKS = f"""
[charter]
satisfaction_survey = true
[[desks]]
id = "bari"
name = "Sportello di Bari"
email = "{DESK}"
phone = "080 123456"
[[staff]]
email = "{DESK_MEMBER}"
name = "Anna Bianchi"
roles = ["desk"]
desks = ["bari"]
"""


def test_a_desk_case_answered_by_the_office_relayed_and_closed_by_the_desk(
    tmp_path, dovecot, imap_user, fresh_imap_user, smtp
):
    config = write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(dovecot.port, imap_user, poll_seconds=2),
    )
    config.write_text(config.read_text() + DESKS)
    accounts = {
        INSTITUTION: imap_user,
        OFFICE: fresh_imap_user(),
        CITIZEN: fresh_imap_user(),
        OPERATOR: fresh_imap_user(),
        DESK: fresh_imap_user(),
    }
    post = Post(dovecot, smtp, accounts)
    assert run_cli("--config", str(config), "db", "upgrade").returncode == 0

    def cli(*args):
        result = run_cli("--config", str(config), *args)
        assert result.returncode == 0, result.stderr
        post.deliver()
        return result

    # 1. The desk takes the complaint down at its counter: the case is the desk's.
    opened = cli(
        "workorders", "open", "--channel", "sportello", "--operator", DESK_MEMBER,
        "--subject", "Contributo non erogato", "--name", "Ditta Rossi srl", "--email", CITIZEN,
        "--text", "Il contributo approvato a gennaio non è ancora stato erogato.",
    )  # fmt: skip
    assert "2026/000001: opened (sportello)" in opened.stdout
    [confirmation] = post.inbox(CITIZEN)
    assert "Ufficio competente: Ufficio Relazioni con il Pubblico" in plain(confirmation)
    [notification] = post.inbox(OFFICE)  # the competent office gets the case to answer
    assert "non è ancora stato erogato" in plain(notification)

    # 2. The office answers by mail, closing the case: the answer goes to the desk only.
    arrives(
        dovecot, imap_user, f"Mario Rossi <{OPERATOR}>", INSTITUTION,
        f"R: {notification['Subject'].strip()}",
        "#chiudi\nIl contributo è stato erogato il 9 marzo con bonifico n. 4471.\n",
        in_reply_to=notification["Message-ID"].strip(),
    )  # fmt: skip
    cli("run", "--once")
    assert len(post.inbox(CITIZEN)) == 1  # the office never writes to the firm directly
    [request] = post.inbox(DESK)
    assert request["Subject"].strip().startswith("[Pratica 2026/000001]")
    assert "#chiudi\nIl contributo è stato erogato" in plain(request)
    assert "#approva" in plain(request)
    waiting = json.loads(cli("workorders", "show", "2026/000001", "--json").stdout)
    assert waiting["status"] == "open" and waiting["desk"] == "bari"
    assert waiting["charter"]["reasoned_reply_at"] is None  # not the reasoned reply yet

    # 3. The desk relays it as it is.
    arrives(
        dovecot, imap_user, f"Anna Bianchi <{DESK_MEMBER}>", INSTITUTION,
        f"Re: {request['Subject'].strip()}",
        "#approva\n\n> " + "\n> ".join(plain(request).splitlines()),
        in_reply_to=request["Message-ID"].strip(),
    )  # fmt: skip
    cli("run", "--once")
    confirmation, answer, closing = post.inbox(CITIZEN)
    for letter in (answer, closing):
        assert letter["From"].addresses[0].addr_spec == INSTITUTION
        assert letter["From"].addresses[0].display_name == "Sportello di Bari"
        assert OPERATOR not in letter.as_string()
    assert plain(answer).startswith("Il contributo è stato erogato il 9 marzo")
    assert "Telefono: 080 123456" in plain(answer)
    assert "pratica n. 2026/000001 è stata chiusa" in plain(closing)
    assert "da 1 (per niente soddisfatto) a 5" in plain(closing)  # the satisfaction request
    assert len(post.inbox(DESK)) == 1 and len(post.inbox(OFFICE)) == 1  # nothing else to staff

    shown = json.loads(cli("workorders", "show", "2026/000001", "--json").stdout)
    assert shown["status"] == "closed"
    assert shown["charter"]["reasoned_reply_at"] is not None
    assert [m["kind"] for m in shown["messages"]] == [
        "citizen",
        "confirmation",
        "notification",
        "pending_reply",  # the office's answer, kept while it waited (never sent)
        "approval",
        "operator_reply",  # carried out when the desk approved it
        "relay",
        "closing",
    ]
