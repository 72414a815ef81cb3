"""Mail loops: an auto-responder on the other side never gets more than one automatic
message from us, whether it marks its mail (ping-pong ends at once) or not (rate limit)."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default

import pytest

from mailbot.models import Event, OutboundMessage
from mailbot.types import LedgerStatus

from support.app import IMAP_PASSWORD, rows, run_cli
from support.mail import Post

BOT = "autoresponder@example.org"


def bot_mail(n: int, subject: str, in_reply_to: str | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = f"Segreteria <{BOT}>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<bot-{n}@example.org>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content("Il destinatario è assente fino al 30 novembre.")
    return msg.as_bytes()


@pytest.mark.integration
def test_ping_pong_with_an_auto_responder_ends_after_one_message_each(
    imap_config, dovecot, imap_user, fresh_imap_user, smtp
):
    accounts = {
        "suggerimenti@comune.example.it": imap_user,
        "urp@comune.example.it": fresh_imap_user(),
        BOT: fresh_imap_user(),
    }
    post = Post(dovecot, smtp, accounts)
    # The bot writes first (someone subscribed it), then answers everything it gets, marking
    # its answers only by the subject, as many cheap responders do.
    dovecot.append(imap_user, IMAP_PASSWORD, [bot_mail(0, "Segnalazione")])
    answered = 0
    for _ in range(5):
        assert run_cli("--config", str(imap_config), "run", "--once").returncode == 0
        post.deliver()
        inbox = post.inbox(BOT)
        for message in inbox[answered:]:
            answered += 1
            reply = bot_mail(
                answered,
                f"Risposta automatica: {message['Subject'].strip()}",
                in_reply_to=message["Message-ID"].strip(),
            )
            dovecot.append(imap_user, IMAP_PASSWORD, [reply])
    to_bot = [r for r in smtp.received if r.rcpt_tos == [BOT]]
    assert len(to_bot) == 1  # our one confirmation
    assert answered == 1  # its one automatic answer, which we did not answer


def test_rate_limit_stops_a_bot_that_looks_like_a_person(services, process):
    for n in range(12):
        assert process(bot_mail(100 + n, f"Segnalazione {n}")).status == LedgerStatus.FILED
    confirmations = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert len(confirmations) == 5  # [limits] per_recipient default
    suppressed = [e for e in rows(services, Event) if e.kind == "message.suppressed"]
    assert len(suppressed) == 7
    assert "5 automatic messages to autoresponder@example.org in 60 min" in suppressed[0].data
    # the office still hears of every case
    assert len([o for o in rows(services, OutboundMessage) if o.kind == "notification"]) == 12
    # reconciliation knows these were held back on purpose, not lost
    from mailbot.admin.reconcile import _check_database

    assert _check_database(services, fix=False) == ([], [])


def test_every_message_we_send_is_marked_automatic(services, process):
    process("citizen_plain.eml")
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    reply = EmailMessage(policy=SMTP_POLICY)
    reply["From"] = "Mario Rossi <mario.rossi@comune.example.it>"
    reply["To"] = "suggerimenti@comune.example.it"
    reply["Subject"] = "R: pratica"
    reply["Message-ID"] = "<op-1@comune.example.it>"
    reply["In-Reply-To"] = notification.message_id
    reply.set_content("Risposta.")
    process(reply.as_bytes())
    for sent in rows(services, OutboundMessage):
        msg = email.message_from_bytes(sent.raw, policy=default)
        assert msg["Auto-Submitted"] in ("auto-replied", "auto-generated"), sent.kind
        assert msg["X-Mailbot-Loop"] == "comune.example.it"


def test_the_brake_counts_automatic_mail_to_a_recipient_and_on_a_case_in_its_window(
    services, process
):
    from datetime import timedelta

    from sqlmodel import Session

    from mailbot.cases.messages import AUTOMATIC
    from mailbot.models import WorkOrder, utcnow
    from mailbot.replies.outbox import count_since

    from support.app import complaint

    process(complaint(1))
    process(complaint(2))
    again = complaint(1, subject="Secondo reclamo").replace(b"<reclamo-1@", b"<reclamo-1bis@")
    process(again)  # the same citizen again: a second case
    cases = {w.number: w.id for w in rows(services, WorkOrder)}
    first = cases[min(cases)]
    before, after = utcnow() - timedelta(minutes=5), utcnow() + timedelta(minutes=5)
    with Session(services.engine) as session:
        to_one = "cittadino1@example.net"
        assert count_since(session, before, recipient=to_one, kinds=AUTOMATIC) == 2
        assert (
            count_since(session, before, recipient="cittadino2@example.net", kinds=AUTOMATIC) == 1
        )
        assert count_since(session, after, recipient=to_one, kinds=AUTOMATIC) == 0
        assert count_since(session, before, recipient=to_one, kinds={"notification"}) == 0
        assert count_since(session, before, work_order_id=first, kinds=AUTOMATIC) == 1
        assert count_since(session, before, work_order_id=first, kinds={"notification"}) == 1
        assert count_since(session, after, work_order_id=first, kinds=AUTOMATIC) == 0
        with pytest.raises(ValueError):
            count_since(session, before, kinds=AUTOMATIC)
