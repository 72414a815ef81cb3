"""The whole conversation of issue 3 against real Dovecot and SMTP servers, with separate
mailboxes for the institution, the office and the citizen. The test plays the MTA: whatever
the SMTP server accepts is appended to the recipient's own IMAP mailbox, and replies are
written the way Outlook (Italian) and Thunderbird write them."""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest

from support.app import IMAP_PASSWORD, run_cli
from support.mail import Post

pytestmark = pytest.mark.integration

INSTITUTION = "suggerimenti@comune.example.it"
OFFICE = "urp@comune.example.it"
OPERATOR = "mario.rossi@comune.example.it"
CITIZEN = "giulia.verdi@example.net"


def write(sender, to, subject, body, in_reply_to=None, references=(), msgid=None):
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = msgid or email.utils.make_msgid(domain="clients.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = " ".join([*references, in_reply_to])
    msg.set_content(body)
    return msg.as_bytes()


def arrives(dovecot, user, *args, **kwargs):
    """A message written by `write(...)` lands in the institution's mailbox."""
    dovecot.append(user, IMAP_PASSWORD, [write(*args, **kwargs)])


def plain(msg):
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_citizen_operator_conversation_end_to_end(
    imap_config, dovecot, imap_user, fresh_imap_user, smtp
):
    accounts = {
        INSTITUTION: imap_user,
        OFFICE: fresh_imap_user(),
        CITIZEN: fresh_imap_user(),
        OPERATOR: fresh_imap_user(),
    }
    post = Post(dovecot, smtp, accounts)

    def run():
        result = run_cli("--config", str(imap_config), "run", "--once")
        assert result.returncode == 0, result.stderr
        post.deliver()
        return result

    # 1. The citizen writes.
    original_id = "<segnalazione-verdi-1@example.net>"
    arrives(
        dovecot,
        imap_user,
        f"Giulia Verdi <{CITIZEN}>",
        INSTITUTION,
        "Buca pericolosa in via Verdi",
        "Buongiorno, c'è una buca profonda davanti al civico 12.\nGiulia Verdi\n",
        msgid=original_id,
    )
    run()
    [confirmation] = post.inbox(CITIZEN)
    [notification] = post.inbox(OFFICE)
    assert confirmation["Subject"].strip().startswith("[Pratica 2026/000001]")
    assert confirmation["In-Reply-To"].strip() == original_id
    assert "buca profonda" in plain(notification)
    assert "#chiudi" in plain(notification)

    # 2. The operator answers from an Italian Outlook, quoting the notification.
    outlook = (
        "Gentile signora Verdi,\n\nla buca sarà chiusa entro venerdì.\n\nCordiali saluti\nMario Rossi\n\n"
        "________________________________\n"
        f"Da: Comune di Esempio - URP <{INSTITUTION}>\n"
        "Inviato: lunedì 2 marzo 2026 10:15\n"
        f"A: Ufficio Relazioni con il Pubblico <{OFFICE}>\n"
        f"Oggetto: {notification['Subject'].strip()}\n\n" + plain(notification)
    )
    arrives(
        dovecot,
        imap_user,
        f"Mario Rossi <{OPERATOR}>",
        INSTITUTION,
        f"R: {notification['Subject'].strip()}",
        outlook,
        in_reply_to=notification["Message-ID"].strip(),
    )
    run()
    confirmation, answer = post.inbox(CITIZEN)
    assert answer["From"].addresses[0].addr_spec == INSTITUTION
    assert (
        answer["From"].addresses[0].display_name
        == "Mario Rossi — Ufficio Relazioni con il Pubblico"
    )
    assert OPERATOR not in answer.as_string()
    assert answer["In-Reply-To"].strip() == original_id  # threaded under the citizen's message
    text = plain(answer)
    assert text.startswith("Gentile signora Verdi,\n\nla buca sarà chiusa entro venerdì.")
    assert "Inviato:" not in text and "buca profonda" not in text
    [told] = post.inbox(OPERATOR)  # once: their plain answer is the reasoned reply
    assert "registrata\ncome RISPOSTA MOTIVATA" in plain(told) and "#interlocutoria" in plain(told)

    # 3. The citizen answers from Thunderbird.
    thunderbird = (
        "Grazie, ma il cartello di pericolo è caduto.\n\n"
        "Il 02/03/2026 10:20, Mario Rossi — URP ha scritto:\n> " + "\n> ".join(text.splitlines())
    )
    arrives(
        dovecot,
        imap_user,
        f"Giulia Verdi <{CITIZEN}>",
        INSTITUTION,
        f"Re: {answer['Subject'].strip()}",
        thunderbird,
        in_reply_to=answer["Message-ID"].strip(),
        references=[original_id],
    )
    run()
    _, forward = post.inbox(OFFICE)
    assert forward["Subject"].strip().startswith("[Pratica 2026/000001]")
    assert "il cartello di pericolo è caduto" in plain(forward)

    # 4. An internal note, then closing with a last answer.
    for body in (
        "#nota\nSentito il cantiere: intervento giovedì.",
        "#chiudi\nAbbiamo ripristinato il cartello.",
    ):
        arrives(
            dovecot,
            imap_user,
            f"Mario Rossi <{OPERATOR}>",
            INSTITUTION,
            f"R: {forward['Subject'].strip()}",
            body + "\n\n-----Messaggio originale-----\n" + plain(forward),
            in_reply_to=forward["Message-ID"].strip(),
        )
        run()
    citizen_mail = post.inbox(CITIZEN)
    # confirmation, answer, closing answer, the closing message: never the note
    assert len(citizen_mail) == 4
    assert not any("cantiere" in plain(m) for m in citizen_mail)
    assert plain(citizen_mail[-2]).startswith("Abbiamo ripristinato il cartello.")
    assert "pratica n. 2026/000001 è stata chiusa" in plain(citizen_mail[-1])

    shown = json.loads(
        run_cli("--config", str(imap_config), "workorders", "show", "2026/000001", "--json").stdout
    )
    assert shown["status"] == "closed"
    assert [m["kind"] for m in shown["messages"]] == [
        "citizen",
        "confirmation",
        "notification",
        "operator_reply",
        "relay",
        "notice",  # to the operator: the plain answer was recorded as the reasoned reply
        "citizen_followup",
        "forward",
        "note",
        "operator_reply",
        "relay",
        "closing",
    ]
    assert shown["messages"][3]["body_text"].startswith("Gentile signora Verdi")
    assert "Messaggio originale" not in shown["messages"][8]["body_text"]
    assert shown["charter"]["reasoned_reply_at"] is not None  # the Outlook answer counted
