"""Logs: JSON lines off a terminal, readable text on one; every line about a message names
its mailbox, UID, Message-ID and case; addresses and codici fiscali never appear whole."""

from __future__ import annotations

import io
import json
import mailbox
import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import structlog

from mailbot import log
from mailbot.models import OutboundMessage, WorkOrder

from support import clock
from support.app import REPO, complaint, make_services, rows, write_config
from support.clock import today_is

CODICE = "RSSMRA80A01H501U"


def citizen_mail(n: int) -> bytes:
    return (
        f"From: Mario Rossi <mario.rossi{n}@example.net>\n"
        "To: suggerimenti@comune.example.it\n"
        f"Subject: Buca in via Roma {n}\n"
        f"Message-ID: <buca{n}@example.net>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        f"Il mio codice fiscale è {CODICE}, scrivetemi a mario.rossi{n}@example.net.\n"
    ).encode()


def run_once(config, **popen) -> subprocess.CompletedProcess[str]:
    """`mailbot run --once` at the test's instant (libfaketime), not at the real time of day:
    at some hours the daemon also sends the offices' digest."""
    popen["env"] = {**(popen.get("env") or os.environ), **clock.subprocess_env()}
    return subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        **popen,
    )


def test_every_line_about_a_message_names_mailbox_uid_message_id_and_case(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(citizen_mail(1))
    box.add(b"\xff\xfe not a message at all \x00")
    done = run_once(config)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    about_messages = [line for line in lines if "message_id" in line and "uid" in line]
    processed = [
        line
        for line in about_messages
        if line["event"] in ("inbound processed", "inbound not filed")
    ]
    assert len(processed) == 2, done.stderr
    for line in about_messages:
        assert line["mailbox"] == "suggerimenti"
        assert line["uid"]
        assert "work_order" in line
        assert line["level"] in ("info", "warning", "error")
        assert line["timestamp"].endswith("Z")
    filed = next(
        line
        for line in processed
        if line["message_id"] == log.mask_message_id("<buca1@example.net>")
    )
    assert filed["status"] == "filed"
    assert filed["work_order"].endswith("/000001")
    rejected = next(line for line in processed if line["event"] == "inbound not filed")
    assert rejected["status"] == "rejected"
    assert rejected["work_order"] is None
    sent = [line for line in lines if line["event"] == "outbound sent"]
    assert {line["kind"] for line in sent} == {"confirmation", "notification"}
    # The case's row id (on PostgreSQL a group filed again skips ids its first attempt took).
    [case] = rows(make_services(config), WorkOrder)
    assert all(line["work_order_id"] == case.id and line["message_id"] for line in sent)
    # Our signed Message-IDs would let a log reader answer as the office: never whole.
    signed = [o.message_id for o in rows(make_services(config), OutboundMessage)]
    assert len(signed) == 2 and not any(message_id in done.stderr for message_id in signed)
    assert "<buca1@example.net>" not in done.stderr
    # Nothing personal in the clear, anywhere in the output.
    assert "mario.rossi1@example.net" not in done.stderr
    assert CODICE not in done.stderr


@pytest.fixture
def json_logs() -> Iterator[None]:
    """log.configure binds the stderr of the moment (so the test calls it, once pytest's
    capture is in place), and is undone afterwards, or later tests in this process would
    write to a closed file."""
    yield
    structlog.reset_defaults()


def test_masking_reaches_nested_values_and_exceptions(capsys, json_logs):
    log.configure(json=True)
    logger = log.get_logger("test")
    logger.info(
        "about people",
        recipients=["anna.bianchi@example.org", "luca@example.it"],
        detail={"from": "mario.rossi@example.net", "codice": CODICE},
        message_id="<abc@mailbot.example.it>",
    )
    try:
        raise ValueError(f"bad sender mario.rossi@example.net ({CODICE})")
    except ValueError:
        logger.exception("failed")
    err = capsys.readouterr().err
    first, second = (json.loads(line) for line in err.splitlines())
    assert first["recipients"] == ["a***@example.org", "l***@example.it"]
    assert first["detail"] == {"from": "m***@example.net", "codice": "RSS**********01U"}
    masked = first["message_id"]  # one message can still be followed, but not replayed
    assert masked == log.mask_message_id("<abc@mailbot.example.it>") != "<abc@mailbot.example.it>"
    assert masked.startswith("<abc…#") and masked.endswith("@mailbot.example.it>")
    assert "mario.rossi@" not in second["exception"]
    assert CODICE not in second["exception"]
    assert "ValueError: bad sender m***@example.net" in second["exception"]


def on_a_terminal(config: str, *args: str, env: dict[str, str] | None = None) -> str:
    """What `mailbot --config CONFIG ARGS` writes to stderr when stderr is a terminal."""
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", config, *args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=secondary,
            env={**(env or os.environ), **clock.subprocess_env()},
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the other end closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(primary)
    return b"".join(chunks).decode(errors="replace")


def test_console_output_on_a_terminal(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    mailbox.Maildir(tmp_path / "maildir", create=True).add(complaint(1))
    text = on_a_terminal(str(config), "run", "--once")
    assert "inbound processed" in text
    assert '"event":' not in text  # not JSON
    assert "mailbox=suggerimenti" in text or "suggerimenti" in text


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def terminal(monkeypatch) -> _Terminal:
    """A stderr that says it is a terminal, for `log.configure` to write to (set in the test
    itself: pytest's capture puts its own stderr back between set-up and call)."""
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    return screen


@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False), ("", True)])
def test_console_colour_follows_no_color(monkeypatch, json_logs, no_color, coloured):
    screen = terminal(monkeypatch)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    log.configure("INFO")
    log.get_logger("test").warning("mailbox slow", mailbox="suggerimenti")
    text = screen.getvalue()
    assert "mailbox=suggerimenti" in re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert ("\x1b[" in text) is coloured


def test_console_times_are_in_the_configured_time_zone_and_json_stays_utc(monkeypatch, json_logs):
    screen = terminal(monkeypatch)
    monkeypatch.setenv("NO_COLOR", "1")
    with today_is(datetime(2026, 3, 11, 9, 15, tzinfo=UTC)):
        log.configure("INFO")
        log.use_timezone(ZoneInfo("Europe/Rome"))
        log.get_logger("test").warning("in winter")
        log.configure("INFO", json=True)
        log.get_logger("test").warning("as json")
    with today_is(datetime(2026, 7, 1, 9, 15, tzinfo=UTC)):
        log.configure("INFO")
        log.get_logger("test").warning("in summer")
    console_winter, line, console_summer = screen.getvalue().splitlines()
    assert console_winter.startswith("2026-03-11 10:15:")
    assert json.loads(line)["timestamp"].startswith("2026-03-11T09:15:")  # services keep UTC
    assert console_summer.startswith("2026-07-01 11:15:")


def test_interactive_commands_log_warnings_only_unless_asked_and_run_keeps_info(tmp_path):
    mailbox.Maildir(tmp_path / "maildir", create=True)
    config = str(write_config(tmp_path / "mailbot.toml", transport="directory"))
    args = ("--config", config)

    def mb(*more):
        return subprocess.run(
            [sys.executable, "-m", "mailbot", *more],
            cwd=REPO,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=120,
            env={**os.environ, **clock.subprocess_env()},
        )

    assert mb(*args, "db", "upgrade").returncode == 0
    quiet = mb(*args, "purge", "--yes")
    assert quiet.returncode == 0, quiet.stderr
    assert "purge done" not in quiet.stderr and quiet.stderr == ""
    told = mb(*args, "--log-level", "INFO", "purge", "--yes")
    assert "purge done" in told.stderr
    ran = mb(*args, "run", "--once")
    assert '"level": "info"' in ran.stderr  # a service still logs what it does


def test_no_color_reaches_a_command_on_a_terminal(tmp_path):
    mailbox.Maildir(tmp_path / "maildir", create=True)
    config = str(write_config(tmp_path / "mailbot.toml", transport="directory"))
    text = on_a_terminal(config, "run", "--once", env={**os.environ, "NO_COLOR": "1"})
    assert "[info" in text and "\x1b[" not in text


# A process that logs, as the daemon's do: structlog is loaded without rich (issue 32), and an
# exception logged to a console still shows where it happened.
LOGS_AN_EXCEPTION = """
import sys
from mailbot import log
log.configure("INFO", False)
try:
    1 / 0
except ZeroDivisionError:
    log.get_logger("probe").exception("it failed")
print("rich loaded:", "rich" in sys.modules)
"""


def test_the_logger_loads_without_rich_and_still_prints_the_traceback():
    done = subprocess.run(
        [sys.executable, "-c", LOGS_AN_EXCEPTION], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "rich loaded: False" in done.stdout
    logged = done.stdout + done.stderr
    assert "it failed" in logged and "ZeroDivisionError" in logged and "line 6" in logged
