"""Machine mail that slips past the obvious rules is recognised and never answered: challenge-
response robots, ARF feedback reports (with or without a report part), delay warnings
(recorded, not a failure), virus and content-filter notices, delivery reports in layouts
nobody standardised, a bounce forwarded by hand and backscatter quoting a spam. Citizens whose
mail looks a little like a machine's still get their case. Prints accuracy per class."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from mailbot.ingest import bounce, classify
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
