"""Operators answer from Outlook, Gmail, Apple Mail, Thunderbird, phones and webmails in
whatever language their client speaks: the quoted history, forwarded blocks, "reply above this
line" markers, device footers and signatures never reach the citizen; an answer written under a
leading quote header is relayed; a reply with nothing new gets the operator a notice, never
silence. Fixtures: tests/fixtures/replies (written for mailbot), expected text in
EXPECTED.json; every one must come out exactly."""

from __future__ import annotations

import email
import json
from collections import Counter
from email.policy import default

import pytest

from mailbot.ingest.parse import parse
from mailbot.models import Event, OutboundMessage
from mailbot.replies.quotes import is_forward, new_text
from mailbot.types import LedgerStatus

from support.app import FIXTURES, rows

REPLIES = FIXTURES / "replies"
CASES = json.loads((REPLIES / "EXPECTED.json").read_text(encoding="utf-8"))["cases"]
OPERATOR = "mario.rossi@comune.example.it"
# What mailbot passes as the case's own history: a forward of mail from these is not news.
HISTORY = ("suggerimenti@comune.example.it", "mario.bianchi@example.net")


def norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())


def language(name: str) -> str:
    return name.removesuffix(".eml").rsplit("_", 1)[-1]


def test_every_client_and_language_comes_out_exactly():
    wrong = []
    per_language: Counter[str] = Counter()
    for name, expected in sorted(CASES.items()):
        parsed = parse((REPLIES / name).read_bytes())
        got = new_text(parsed.text, HISTORY, forward=is_forward(parsed.subject))
        per_language[language(name)] += 1
        if norm(got) != norm(expected):
            wrong.append(f"{name}: {norm(got)[:120]!r}")
    print(f"\n  {len(CASES) - len(wrong)}/{len(CASES)} exact; by language: {dict(per_language)}")
    assert wrong == []
    needed = {"nl", "de", "fr", "es", "pt", "sv", "no", "da", "uk", "ru", "zh", "ja", "it", "en"}
    assert needed <= set(per_language)


@pytest.fixture
def notified(services, process):
    assert process("citizen_plain.eml").status == LedgerStatus.FILED
    return next(o for o in rows(services, OutboundMessage) if o.kind == "notification")


def operator_reply(name: str, notification: OutboundMessage) -> bytes:
    raw = (REPLIES / name).read_bytes()
    return raw.replace(b"<NOTIFICATION>", notification.message_id.encode())


def relayed_text(services) -> str:
    relay = next(o for o in rows(services, OutboundMessage) if o.kind == "relay")
    return email.message_from_bytes(relay.raw, policy=default).get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "name",
    [
        "leading_header_answer_first_it.eml",
        "leading_header_bottom_post_en.eml",
        "gmail_zh.eml",
        "iphone_de.eml",
        "reply_above_marker_wrapped_it.eml",
        "forward_notification_thunderbird_it.eml",
        "wrapped_header_three_lines_it.eml",
        "verbless_header_gmail_old_es.eml",
    ],
)
def test_the_operators_answer_reaches_the_citizen_without_history(
    services, process, notified, name
):
    outcome = process(operator_reply(name, notified))
    assert outcome.status == LedgerStatus.THREADED
    text = relayed_text(services)
    assert norm(CASES[name]) in norm(text)
    assert "segnalo una buca profonda" not in text and "Nuova pratica" not in text


def test_a_reply_with_nothing_new_gets_the_operator_a_notice_and_is_kept(
    services, process, notified
):
    only_quote = operator_reply("leading_header_bottom_post_en.eml", notified)
    head, _, body = only_quote.partition(b"\r\n\r\n")
    only_quote = head + b"\r\n\r\n" + body.split(b"Gentile signor Bianchi")[0]
    outcome = process(only_quote)
    assert outcome.status == LedgerStatus.THREADED
    assert "vuota" in (outcome.reason or "")
    sent = rows(services, OutboundMessage)
    assert not [o for o in sent if o.kind == "relay"]
    notice = next(o for o in sent if o.kind == "notice")
    assert notice.recipients == OPERATOR
    text = email.message_from_bytes(notice.raw, policy=default).get_body(("plain",)).get_content()
    assert "la risposta è vuota" in text
    assert "operator_reply.refused" in {e.kind for e in rows(services, Event)}


def test_a_colleagues_mail_forwarded_on_purpose_reaches_the_citizen_without_its_header(
    services, process, notified
):
    """Outlook forwards with no banner: the subject ("I: …") says it is a forward, so the
    colleague's mail is relayed (his words first), without its header block, its signature
    with a direct line, or the internal request quoted under it."""
    outcome = process(operator_reply("forward_other_office_outlook_it.eml", notified))
    assert outcome.status == LedgerStatus.THREADED
    text = relayed_text(services)
    assert norm(CASES["forward_other_office_outlook_it.eml"]) in norm(text)
    assert "le inoltro l'esito del sopralluogo" in text
    assert "rifacimento dell'asfalto è programmato" in text
    for internal in ("ing.verdi@", "0123 456700", "Paolo, puoi far verificare", "Inviato:"):
        assert internal not in text
