"""Stopping the daemon while the protocol register hangs: the running program is ended
(terminated, killed after a short grace) instead of being waited for until its timeout, and the
registration stays due for the next start, its attempt not counted. Real time, as the other
tests of the register against a real SMTP server."""

from __future__ import annotations

import mailbox
import time

from sqlmodel import Session, select
from unit.test_protocol_confirmation import config_for
from unit.test_segnatura import complaint_with_two_attachments

from mailbot.models import Event, ProtocolRegistration

from support.app import Daemon, make_services


def test_the_daemon_stops_at_once_while_the_register_hangs_and_retries_it_next_start(
    tmp_path, smtp
):
    state = tmp_path / "register"
    state.mkdir()
    config = config_for(tmp_path, state, wait=1, timeout=120, smtp_port=smtp.port)
    (state / "mode").write_text("hang")
    mailbox.Maildir(tmp_path / "maildir").add(complaint_with_two_attachments())
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("inbound processed")
        deadline = time.monotonic() + 30  # a loaded machine starts the pass later
        while not (state / "hanging").exists():  # the registration pass runs the program
            assert time.monotonic() < deadline, daemon.log
            time.sleep(0.05)
        stopping = time.monotonic()
        assert daemon.stop(timeout=30) == 0
        assert time.monotonic() - stopping < 8  # the grace and a margin, not the 120 s
    finally:
        daemon.kill()
    assert "protocol registration interrupted" in daemon.log
    services = make_services(config)
    try:
        with Session(services.engine) as session:
            [row] = session.exec(select(ProtocolRegistration)).all()
            kinds = {e.kind for e in session.exec(select(Event)).all()}
    finally:
        services.engine.dispose()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
    assert "work_order.protocol_failed" not in kinds

    # The next start registers it.
    (state / "mode").unlink()
    again = Daemon(config)
    try:
        again.wait_for_log("protocol registration recorded", timeout=30)
        assert again.stop(timeout=30) == 0
    finally:
        again.kill()
