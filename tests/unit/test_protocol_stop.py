"""A registration pass told mailbot is stopping ends the running register program (terminated,
then killed after a short grace) and leaves its row due for the next start, the attempt not
counted and no failure on the case; told before it starts, it runs nothing."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session, select

from mailbot.cases import registration
from mailbot.models import Event, ProtocolRegistration
from unit.test_protocol_adapter import adapter_config
from unit.test_segnatura import complaint_with_two_attachments

from support.app import make_process, make_services, write_config


def _rows_and_events(services) -> tuple[list[ProtocolRegistration], set[str]]:
    with Session(services.engine) as session:
        rows = list(session.exec(select(ProtocolRegistration)).all())
        kinds = {e.kind for e in session.exec(select(Event)).all()}
    return rows, kinds


def test_a_stopping_pass_ends_the_hanging_program_and_leaves_the_row_due(tmp_path):
    (tmp_path / "maildir").mkdir()
    state = tmp_path / "register"
    state.mkdir()
    services = make_services(
        write_config(tmp_path / "mailbot.toml", extra=adapter_config(state, timeout=120))
    )
    try:
        make_process(services)(complaint_with_two_attachments())
        (state / "mode").write_text("hang")
        stop = threading.Event()
        threading.Timer(1.0, stop.set).start()
        started = time.monotonic()
        report = registration.run_due(services, stopping=stop.is_set)
        assert time.monotonic() - started < 6  # a second, the grace, a margin: not 120 s
        assert (report.registered, report.failed) == ([], {})
        [row], kinds = _rows_and_events(services)
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
        assert "work_order.protocol_failed" not in kinds

        # Told before it starts: nothing runs. Then the next start registers it at once.
        (state / "mode").unlink()
        assert registration.run_due(services, stopping=lambda: True).registered == []
        assert not (state / "counter").exists()
        assert len(registration.run_due(services).registered) == 1
        [row], _ = _rows_and_events(services)
        assert (row.status, row.attempts) == ("done", 1)
    finally:
        services.engine.dispose()
