"""`run --once` through a backlog reads ahead in a process of its own (runtime/readahead.py):
every message is filed as without it, in order, its original in the store; a message it cannot
take is recorded as the pipeline records it."""

from __future__ import annotations

import mailbox

import pytest

from mailbot.models import InboundMessage, WorkOrder
from mailbot.runtime import readahead, run_once

from support.app import complaint, fixture_bytes, maildir_services, rows


@pytest.mark.integration
def test_run_once_reads_ahead_and_files_everything_in_order(tmp_path, smtp, monkeypatch):
    services, box = maildir_services(tmp_path, smtp.port)
    sent: list[int] = []
    send = readahead.ReadAhead._send

    def counted(self: readahead.ReadAhead, origin: object, raw: bytes) -> bool:
        handed = send(self, origin, raw)  # type: ignore[arg-type]
        sent.append(int(handed))
        return handed

    monkeypatch.setattr(readahead, "START_AFTER", 2)
    monkeypatch.setattr(readahead.ReadAhead, "_send", counted)
    messages = [complaint(n) for n in range(12)]
    messages.insert(6, fixture_bytes("malformed_no_from.eml"))
    for raw in messages:
        mailbox.Maildir(box).add(raw)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert report.mailboxes["suggerimenti"].counts == {"filed": 12, "rejected": 1}
    assert sum(sent) == 12  # all but the first message went to the child
    entries = rows(services, InboundMessage)
    assert sorted(services.store.get(e.raw_sha256) for e in entries) == sorted(messages)
    numbers = [w.number for w in sorted(rows(services, WorkOrder), key=lambda w: w.id)]
    assert len(numbers) == 12 and numbers == sorted(numbers)
