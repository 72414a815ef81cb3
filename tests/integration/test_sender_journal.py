"""A sender killed between journaling its sent mail and folding the journal into the database
(SQLite, replies/sent_journal.py): the next sender folds the dead one's journal before it claims
anything, so the mail the relay accepted is not sent again, though its row is due once more."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from mailbot.models import Event, OutboundMessage

from support.app import REPO, Daemon, complaint, make_services, rows, run_cli, write_config
from support.killing import wait_for_claims_to_expire

pytestmark = [pytest.mark.integration, pytest.mark.embedded]  # the journal is SQLite's


def setup(
    tmp_path: Path, smtp, complaints: int, poll: float | None = None, sender: str = "thread"
) -> Path:
    box: dict[str, object] = {"source": "maildir", "path": str(tmp_path / "maildir")}
    if poll is not None:
        box["poll_seconds"] = poll
    config = write_config(tmp_path / "mailbot.toml", smtp_port=smtp.port, mailbox=box)
    # A short lease: the dead sender's rows are due again at once, journaled ones included.
    outbox = f'[outbox]\nlease_seconds = 1\nsender = "{sender}"'
    config.write_text(config.read_text().replace("[outbox]", outbox))
    maildir = mailbox.Maildir(tmp_path / "maildir")
    for n in range(complaints):
        maildir.add(complaint(n))
    return config


def journal_lines(tmp_path: Path) -> dict[int, str]:
    lines = [
        line.split(" ")
        for path in tmp_path.glob("mailbot.db.sent-*")
        for line in path.read_text().splitlines()
    ]
    return {int(row_id): at for row_id, at in lines}


def received_once_each(smtp, services) -> None:
    outbound = rows(services, OutboundMessage)
    ids = Counter(r.data.split(b"Message-ID:")[1].split(b">")[0].strip() for r in smtp.received)
    assert sorted(ids) == sorted(o.message_id.encode()[:-1] for o in outbound)
    assert set(ids.values()) == {1}, ids
    assert {o.status for o in outbound} == {"sent"} and {o.attempts for o in outbound} == {1}
    assert len([e for e in rows(services, Event) if e.kind == "outbound.sent"]) == len(outbound)


class HangingRelay:
    """The relay takes three mails and hangs on the fourth until `release()`, then answers 421
    to a client that is dead by then (recorded nowhere)."""

    def __init__(self, smtp) -> None:
        self.smtp, self.accept = smtp, smtp.handler.handle_DATA
        self.released = threading.Event()  # set from the test's thread, read in the server's
        self.calls = 0

    async def handle_DATA(self, server, session, envelope):
        self.calls += 1
        if self.calls == 4:
            while not self.released.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.0 going away"
        return await self.accept(server, session, envelope)

    def __enter__(self) -> HangingRelay:
        self.smtp.handler.handle_DATA = self.handle_DATA
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.smtp.handler.handle_DATA = self.accept

    def hung_with_three_journaled(self, daemon: Daemon, config: Path, tmp_path: Path) -> None:
        deadline = time.monotonic() + 60
        while self.calls < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.calls == 4, daemon.log
        assert len(journal_lines(tmp_path)) == 3
        services = make_services(config)
        assert [o.status for o in rows(services, OutboundMessage)] == ["pending"] * 6


def test_run_once_killed_after_journaling_three_mails_is_followed_by_one_that_folds_them(
    tmp_path, smtp
):
    config = setup(tmp_path, smtp, 4)  # 8 mails
    launcher = str(REPO / "tests" / "support" / "crash_launcher.py")
    crashed = subprocess.run(
        [sys.executable, launcher, "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**os.environ, "MAILBOT_TEST_CRASH_AT": "sent-journal-append:3:after"},
    )
    assert crashed.returncode == 137, crashed.stderr
    services = make_services(config)
    assert len(smtp.received) == 3
    journaled = journal_lines(tmp_path)
    assert len(journaled) == 3  # accepted and journaled, not yet in the database
    assert {o.status for o in rows(services, OutboundMessage)} == {"pending"}
    wait_for_claims_to_expire(services.settings.database.url)  # all 8 are due again
    again = run_cli("--config", str(config), "run", "--once")
    assert again.returncode == 0, again.stderr
    assert len(smtp.received) == 8
    received_once_each(smtp, services)
    sent_at = {o.id: o.sent_at.isoformat() for o in rows(services, OutboundMessage)}
    assert {i: sent_at[i] for i in journaled} == journaled  # when the relay accepted them
    assert list(tmp_path.glob("mailbot.db.sent-*")) == []


def test_a_sender_process_killed_between_journaling_and_folding_is_replaced_without_a_resend(
    tmp_path, smtp
):
    """The daemon's sender: the relay hangs on the fourth mail, three are journaled and not
    folded; the child is SIGKILLed; the next child folds its journal, and no mail goes twice."""
    config = setup(tmp_path, smtp, 3, poll=0.5, sender="process")  # 6 mails
    with HangingRelay(smtp) as relay:
        daemon = Daemon(config)
        try:
            relay.hung_with_three_journaled(daemon, config, tmp_path)
            [pid] = [json.loads(x)["pid"] for x in daemon.lines if '"sender started"' in x]
            os.kill(pid, signal.SIGKILL)
            relay.released.set()
            daemon.wait_for_log("sender started", count=2, timeout=60)
            smtp.wait_for(6, timeout=60)
            daemon.wait_for_log("outbound sent", count=6, timeout=60)  # 3 from the second child
            assert daemon.stop() == 0
        finally:
            daemon.kill()
    assert len(smtp.received) == 6
    received_once_each(smtp, make_services(config))
    assert list(tmp_path.glob("mailbot.db.sent-*")) == []


def test_a_daemon_killed_between_its_thread_journaling_and_folding_resends_nothing(tmp_path, smtp):
    """The default sender, a thread: the relay hangs on the fourth mail, three are journaled and
    not folded, and the whole daemon is SIGKILLed. The next daemon folds the dead one's journal
    before it claims: the three go once, the other three once."""
    config = setup(tmp_path, smtp, 3, poll=0.5)  # 6 mails
    with HangingRelay(smtp) as relay:
        daemon = Daemon(config)
        try:
            relay.hung_with_three_journaled(daemon, config, tmp_path)
            assert '"threaded": true' in daemon.log
            daemon.proc.send_signal(signal.SIGKILL)
            daemon.proc.wait(timeout=10)
            relay.released.set()
            again = Daemon(config)
            try:
                smtp.wait_for(6, timeout=60)
                again.wait_for_log("outbound sent", count=3, timeout=60)
                assert again.stop() == 0
            finally:
                again.kill()
        finally:
            daemon.kill()
    assert len(smtp.received) == 6
    received_once_each(smtp, make_services(config))
    assert list(tmp_path.glob("mailbot.db.sent-*")) == []


def test_stopping_the_sender_process_folds_what_a_killed_one_left(tmp_path, smtp):
    """`SenderProcess.stop` (the daemon's stop, `Overlap.finish`) returns with every mail a
    sender journaled marked, though no pass runs after it."""
    from mailbot.runtime.sender_process import SenderProcess

    from support.app import make_process

    config = setup(tmp_path, smtp, 0)
    services = make_services(config)
    make_process(services)(complaint(1))
    first, _ = rows(services, OutboundMessage)
    left = tmp_path / "mailbot.db.sent-999999-killed"
    left.write_text(f"{first.id} 2026-03-11T08:30:15+00:00\n")
    sender = SenderProcess()
    sender.ensure(services.settings)
    sender.stop()
    assert [o.status for o in rows(services, OutboundMessage)] == ["sent", "pending"]
    assert not left.exists() and smtp.received == []
