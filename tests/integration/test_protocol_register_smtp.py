"""The protocol number on the confirmation over a real SMTP server (issue 33, item 6): `run
--once` with `[protocol] wait_seconds` and the suite's own register
(tests/support/fake_register.py) sends the citizen "Protocollo n. … del …"; a register that
hangs or fails never keeps the confirmation beyond the wait, and the number is not sent later.
Real time (no libfaketime: its timed waits do not end on time), as the other tests against
real servers."""

from __future__ import annotations

import json
import mailbox
import multiprocessing
import subprocess
import sys
import time
from datetime import date

import pytest
from babel.dates import format_date
from unit.test_protocol_confirmation import config_for, text_of
from unit.test_segnatura import complaint_with_two_attachments

from support.app import REPO, Daemon, complaint, make_services, run_cli


@pytest.fixture
def state(tmp_path):
    (tmp_path / "register").mkdir()
    return tmp_path / "register"


def said(day: str, language: str = "it") -> str:
    return str(format_date(date.fromisoformat(day), format="long", locale=language))


def run_once_in_background(config) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_once_sends_the_confirmation_with_the_number_over_smtp(tmp_path, state, smtp):
    config = config_for(tmp_path, state, wait=10, smtp_port=smtp.port)
    mailbox.Maildir(tmp_path / "maildir", create=True).add(complaint_with_two_attachments())
    started = time.monotonic()
    done = run_once_in_background(config)
    _, stderr = done.communicate(timeout=60)
    assert done.returncode == 0, stderr
    assert time.monotonic() - started < 10  # it did not wait for the whole wait
    [sent] = [m for m in smtp.wait_for(2) if "giulia.bianchi@example.org" in m.rcpt_tos]
    day = json.loads((state / "seen-1" / "metadata.json").read_text())["received_date"]
    assert f"Protocollo n. 0000001 del {said(day)}" in text_of(sent.data)


@pytest.mark.parametrize("mode", ["hang", "fail"])
def test_a_register_that_hangs_or_fails_never_keeps_the_confirmation(tmp_path, state, smtp, mode):
    wait = 2
    config = config_for(tmp_path, state, wait=wait, timeout=8, smtp_port=smtp.port)
    mailbox.Maildir(tmp_path / "maildir", create=True).add(complaint_with_two_attachments())
    (state / "mode").write_text(mode)
    started = time.monotonic()
    done = run_once_in_background(config)
    try:
        received = []
        while not received and time.monotonic() - started < wait + 8:
            received = [m for m in smtp.received if "giulia.bianchi@example.org" in m.rcpt_tos]
            time.sleep(0.05)
        arrived = time.monotonic() - started
        [sent] = received
        assert arrived < wait + 6  # within the wait and a margin (the interpreter's start)
        if mode == "hang":
            assert done.poll() is None  # the register is still hanging: the mail did not wait
        assert "Protocollo" not in text_of(sent.data)
    finally:
        _, stderr = done.communicate(timeout=60)
    assert done.returncode == 0, stderr
    (state / "mode").unlink()
    retried = run_cli("--config", str(config), "protocol", "retry")
    assert retried.returncode == 0, retried.stderr
    time.sleep(0.5)
    citizen = [m for m in smtp.received if "giulia.bianchi@example.org" in m.rcpt_tos]
    assert len(citizen) == 1  # the number is not sent later: one confirmation


@pytest.mark.parametrize("mode", ["ok", "hang"])
def test_the_daemon_sends_it_with_the_number_or_after_the_wait_while_the_register_hangs(
    tmp_path, state, smtp, mode
):
    """The daemon runs the registration beside the sending: a hanging register delays the
    confirmation by the wait (and the outbox loop's poll), not by the program's timeout. A
    register that answers sends the letter with its number as soon as it has it, so its wait
    can be long: 3 s (the register program a Python start away, with the daemon's sender
    starting beside it in the same interpreter) was missed once in a loaded CI run."""
    wait = 3 if mode == "hang" else 15
    config = config_for(tmp_path, state, wait=wait, timeout=20, smtp_port=smtp.port)
    if mode == "hang":
        (state / "mode").write_text(mode)
    mailbox.Maildir(tmp_path / "maildir").add(complaint_with_two_attachments())
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("inbound processed")
        filed = time.monotonic()
        received = []
        while not received and time.monotonic() - filed < wait + 15:
            received = [m for m in smtp.received if "giulia.bianchi@example.org" in m.rcpt_tos]
            time.sleep(0.05)
        [sent] = received
        if mode == "ok":
            assert "Protocollo n. 0000001 del " in text_of(sent.data)
        else:
            assert time.monotonic() - filed < wait + 5 + 5  # the wait, a poll, a margin
            assert "protocol registration failed" not in daemon.log  # still hanging
            assert "Protocollo" not in text_of(sent.data)
        assert daemon.stop(timeout=40) == 0
    finally:
        daemon.kill()
    citizen = [m for m in smtp.received if "giulia.bianchi@example.org" in m.rcpt_tos]
    assert len(citizen) == 1


def test_run_once_stops_its_sender_process_before_the_register_is_given_its_wait(
    tmp_path, state, smtp, monkeypatch
):
    """Through a backlog the sender process started beside the drain would go on beside the
    last pass; with a register to wait for it stops first, so that no confirmation whose hold
    runs out during the wait leaves without its number while the register could still give it."""
    from mailbot.runtime import once, overlap, run_once

    config = config_for(tmp_path, state, wait=10, smtp_port=smtp.port)
    for n in range(6):
        mailbox.Maildir(tmp_path / "maildir").add(complaint(n))
    services = make_services(config)
    senders_during_the_wait: list[int] = []
    register = once._register

    def watched(*args: object) -> None:
        senders_during_the_wait.append(len(multiprocessing.active_children()))
        register(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(overlap, "START_AFTER", 3)
    monkeypatch.setattr(once, "_register", watched)
    try:
        report = run_once(services)
    finally:
        services.engine.dispose()
    assert senders_during_the_wait == [0]
    assert report.delivery.sent == 12 and not report.delivery.errors
    numbered = [m for m in smtp.received if "Protocollo n." in text_of(m.data)]
    assert len(numbered) == 6  # every confirmation with its number
