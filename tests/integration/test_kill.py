"""Crash safety, proven: SIGKILL at random moments through a backlog, 30 times."""

from __future__ import annotations

import pytest

from support.app import IMAP_PASSWORD
from support.killing import citizen, run_kills

pytestmark = pytest.mark.integration


def test_thirty_sigkills_lose_nothing_and_duplicate_no_case(imap_config, dovecot, imap_user, smtp):
    messages = 120
    # A short lease: a killed sender's claimed rows are due again almost at once.
    imap_config.write_text(
        imap_config.read_text().replace("[outbox]", "[outbox]\nlease_seconds = 1")
    )
    dovecot.append(imap_user, IMAP_PASSWORD, [citizen(i) for i in range(messages)])
    report = run_kills(imap_config, smtp, messages=messages, kills=30)
    print(f"\n  {report}")
    assert report.kills >= 30
    assert report.lost == 0
    assert report.duplicate_cases == 0
    assert report.cases == messages
    assert report.missing_confirmations == 0
    # Duplicates can only come from the window between the relay's 250 and our commit: one
    # message in flight per kill at most. They are counted and printed above.
    assert report.duplicate_confirmations <= report.kills
