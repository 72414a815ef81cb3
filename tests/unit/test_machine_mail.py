"""Machine mail that slips past the obvious rules is recognised and never answered: challenge-
response robots, ARF feedback reports (with or without a report part), delay warnings
(recorded, not a failure), virus and content-filter notices, delivery reports in layouts
nobody standardised, a bounce forwarded by hand, backscatter quoting a spam, Lotus Notes/Domino
out-of-office notices and mailing lists' moderation notices (Mailman 2 and 3 in five languages,
Sympa, Google Groups), all without Auto-Submitted or Precedence. Citizens whose mail looks a
little like a machine's still get their case. Prints accuracy per class."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from mailbot.ingest import bounce, classify, notices, signals
from mailbot.ingest.parse import parse
from mailbot.models import OutboundMessage
from mailbot.types import Kind, LedgerStatus

from support.app import FIXTURES, counts, fixture_bytes, rows

MACHINE = FIXTURES / "machine"
CONTEXT = classify.Context(own_addresses=frozenset({"suggerimenti@comune.example.it"}))
# Class of each fixture (its name's first word) → what it must be classified as.
EXPECTED = {
    "challenge": Kind.AUTO_GENERATED,
    "arf": Kind.BOUNCE,
    "dsn": Kind.BOUNCE,
    "virus": Kind.AUTO_GENERATED,
    "content": Kind.AUTO_GENERATED,
    "ooo": Kind.AUTO_GENERATED,  # Lotus Notes/Domino "AUTO: … is out of the office"
    "moderation": Kind.AUTO_GENERATED,  # a list's "your message awaits moderator approval"
    "citizen": Kind.CITIZEN,
}


def fixtures() -> list[Path]:
    return sorted(MACHINE.glob("*.eml"))


def test_every_class_is_recognised_and_accuracy_is_printed():
    by_class: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for path in fixtures():
        klass = path.name.split("_")[0]
        got = classify.classify(parse(path.read_bytes()), CONTEXT)
        ok = got.kind is EXPECTED[klass]
        by_class[klass].append(ok)
        if not ok:
            misses.append(f"{path.name}: {got.kind} ({got.reason})")
    print()
    for klass, outcomes in sorted(by_class.items()):
        print(f"  {klass}: {sum(outcomes)}/{len(outcomes)}")
    assert misses == []
    assert set(by_class) == set(EXPECTED)


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.name)
def test_machine_mail_is_never_answered_and_citizens_get_their_case(services, process, path):
    outcome = process(path.read_bytes())
    _, cases, outbox = counts(services)
    if path.name.startswith("citizen_"):
        assert outcome.status == LedgerStatus.FILED
        assert sorted(o.kind for o in rows(services, OutboundMessage)) == [
            "confirmation",
            "notification",
        ]
    else:
        assert outcome.status in (LedgerStatus.BOUNCE, LedgerStatus.IGNORED)
        assert (cases, outbox) == (0, 0)


def test_lookalike_citizens_show_one_sign_of_a_notice_not_two():
    """The citizens written to look like these notices each carry one of the two signs the
    rules want, so each fixture keeps testing that one sign is not enough."""
    car = parse(fixture_bytes("machine/citizen_towed_car_office_closed.eml"))
    assert signals.DOMINO_SUBJECT.search(car.subject)  # "AUTO: … non è in ufficio"
    assert notices.is_domino_absence(car) is None
    away = parse(fixture_bytes("machine/citizen_out_of_office_wife.eml"))
    assert signals.ABSENCE_TEXT.search(notices.opening(away.text))  # "Sarò fuori ufficio…"
    assert not signals.DOMINO_SUBJECT.search(away.subject)
    quoting = parse(fixture_bytes("machine/citizen_quotes_moderation_notice.eml"))
    assert signals.MODERATION_SUBJECT.search(quoting.subject)
    assert signals.MODERATION_TEXT.search(notices.opening(quoting.text))  # below his words
    assert notices.is_moderation_notice(quoting) is None
    forward = parse(fixture_bytes("machine/citizen_forwards_moderation_notice.eml"))
    assert signals.MODERATION_SUBJECT.search(forward.subject)  # "I: Il tuo messaggio a …"
    assert signals.REPLY_OR_FORWARD.match(forward.subject)
    assert signals.MODERATION_TEXT.search(notices.opening(forward.text))
    assert notices.is_moderation_notice(forward) is None


def test_delay_warnings_are_delays_and_final_failures_are_hard():
    delayed = ("dsn_delay_rfc3464.eml", "dsn_delay_exim_text.eml")
    for name in delayed:
        report = bounce.read(fixture_bytes(f"machine/{name}"))
        assert report.verdict == "delayed", name
        assert [r.address for r in report.recipients] == ["anna.neri@example.org"]
        assert not any(r.permanent for r in report.recipients)
    for name, address in (
        ("dsn_qmail_failure.eml", "anna.neri@example.net"),
        ("dsn_exchange_plain.eml", "anna.neri@example.com"),
        ("dsn_postmaster_odd_subject.eml", "anna.neri@relay.example.jp"),
    ):
        report = bounce.read(fixture_bytes(f"machine/{name}"))
        assert report.verdict == "bounce", name
        assert [(r.address, r.permanent) for r in report.recipients] == [(address, True)], name


def test_a_delay_on_our_confirmation_is_recorded_and_tells_nobody(services, process):
    process("citizen_plain.eml")
    confirmation = next(o for o in rows(services, OutboundMessage) if o.kind == "confirmation")
    warning = (
        fixture_bytes("machine/dsn_delay_exim_text.eml")
        .replace(b"<original-0007@comune.example.it>", confirmation.message_id.encode())
        .replace(b"anna.neri@example.org", b"mario.bianchi@example.net")
    )
    outcome = process(warning)
    assert outcome.status == LedgerStatus.BOUNCE and outcome.work_order_number == "2026/000001"
    sent = {o.kind: o for o in rows(services, OutboundMessage)}
    assert sent["confirmation"].bounce == "delayed"
    assert "notice" not in sent  # a delay is not a failure: the office is not alarmed


def test_backscatter_for_a_spam_that_forged_our_address_opens_nothing(services, process):
    outcome = process(fixture_bytes("machine/dsn_quoting_spam.eml"))
    assert outcome.status == LedgerStatus.BOUNCE
    assert "not about a message of ours" in (outcome.reason or "")
    assert counts(services)[1:] == (0, 0)
