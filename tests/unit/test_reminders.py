"""Daily digests and escalation (issue 7, part 3): one digest per office per day listing the
cases due soon and the overdue ones, overdue ones escalated to the manager; never two a day,
even from a fresh process."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest

from mailbot.cases.reminders import send_digests
from mailbot.models import DigestSent, WorkOrder

from support.app import complaint, make_process, make_services, rows, sent, write_config

MANAGER = "dirigente@comune.example.it"


@pytest.fixture
def config(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(
        tmp_path / "mailbot.toml",
        extra='[charter]\ndigest_time = "08:00"\nreminder_days = 3\n',
    )
    path.write_text(
        path.read_text().replace(
            "response_days = 30\n", f'response_days = 30\nmanager = "{MANAGER}"\n'
        )
    )
    return path


def text(row):
    return message_from_bytes(row.raw, policy=default).get_body(("plain",)).get_content()


@pytest.mark.today("2026-03-11T06:00:00+00:00")  # a Wednesday, 07:00 in Rome
def test_one_digest_per_office_per_day_with_escalation(config, now):
    services = make_services(config)
    tz = services.settings.timezone
    morning = now.astimezone(tz).replace(hour=7, minute=59, second=0, microsecond=0)
    process = make_process(services)
    for n, age in ((1, 29), (2, 40), (3, 5)):  # due in 1-3 days, overdue, in ~25 days
        process(complaint(n), received_at=morning - timedelta(days=age))
    soon, late, later = rows(services, WorkOrder)

    assert send_digests(services, morning) == 0  # before 08:00
    assert sent(services, "digest") == []
    assert send_digests(services, morning + timedelta(minutes=1)) == 1
    [digest] = sent(services, "digest")
    assert digest.recipients == "urp@comune.example.it"
    body = text(digest)
    assert soon.number in body and late.number in body and later.number not in body
    assert "SCADUTE (1)" in body and "IN SCADENZA (1)" in body
    subject = message_from_bytes(digest.raw, policy=default)["Subject"]
    assert "[Pratica" not in subject
    [escalation] = sent(services, "escalation")
    assert escalation.recipients == MANAGER
    assert late.number in text(escalation) and soon.number not in text(escalation)

    # Later the same day, and from a freshly started process: nothing more.
    settled: set[tuple[str, str]] = set()
    assert send_digests(services, morning + timedelta(hours=3), settled) == 0
    assert settled == {("urp", (morning + timedelta(minutes=1)).date().isoformat())}
    restarted = make_services(config)
    assert send_digests(restarted, morning + timedelta(hours=9)) == 0
    assert len(sent(services, "digest")) == 1
    # The next morning, another one.
    assert send_digests(restarted, morning + timedelta(days=1, minutes=1)) == 1
    assert len(sent(services, "digest")) == 2
    assert {d.day for d in rows(services, DigestSent)} == {
        (morning + timedelta(minutes=1)).date().isoformat(),
        (morning + timedelta(days=1, minutes=1)).date().isoformat(),
    }


@pytest.mark.today("2026-03-11T08:00:00+00:00")
def test_no_digest_without_cases_to_list(config, now):
    services = make_services(config)
    now = now.astimezone(services.settings.timezone).replace(hour=9)
    make_process(services)(complaint(1), received_at=now)  # due in 30 days
    assert send_digests(services, now) == 0
    assert sent(services, "digest") == [] and sent(services, "escalation") == []
    [row] = rows(services, DigestSent)
    assert row.cases == 0  # looked at today, nothing to say: not again today
