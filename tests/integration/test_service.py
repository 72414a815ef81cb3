"""Running under systemd: the notify/watchdog protocol, SIGHUP reload, SIGTERM with mail in
hand, the units themselves (systemd-analyze verify)."""

from __future__ import annotations

import json
import mailbox
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.models import InboundMessage, WorkOrder
from mailbot.runtime.sdnotify import Notifier, WatchdogFeeder

from support.app import REPO, Daemon, complaint, make_services, rows, write_config


class NotifySocket:
    """What systemd listens on: a Unix datagram socket; every notice is kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.notices: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            fields["received_at"] = datetime.now(UTC).isoformat()  # not a systemd key
            self.notices.append(fields)

    def count(self, key: str, value: str = "1") -> int:
        return sum(n.get(key) == value for n in list(self.notices))

    def wait_for(self, key: str, count: int = 1, timeout: float = 20.0, value: str = "1") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(key, value) >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {key}={value} within {timeout}s: {self.notices}")

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=2)


def maildir(path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(path, create=True)


def test_notify_ready_after_mailbox_connected_then_watchdog_then_stopping(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    maildir(tmp_path / "maildir")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(config, env={"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"})
    try:
        notify.wait_for("READY")
        ready = next(n for n in notify.notices if n.get("READY") == "1")
        assert ready["STATUS"] == "mailboxes: 1 connected"
        daemon.wait_for_log("mailbox connected", timeout=5)
        [line] = [json.loads(x) for x in daemon.lines if '"event": "mailbox connected"' in x]
        logged = datetime.fromisoformat(line["timestamp"])
        assert logged <= datetime.fromisoformat(ready["received_at"])  # READY came after it
        # WatchdogSec=1s: a ping every half second while the loops answer.
        started = notify.count("WATCHDOG")
        time.sleep(2.2)
        assert notify.count("WATCHDOG") - started >= 3
        assert daemon.stop() == 0
        assert notify.count("STOPPING") == 1
        assert notify.count("READY") == 1
    finally:
        daemon.kill()
        notify.close()


def test_without_notify_socket_the_daemon_runs_the_same(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    maildir(tmp_path / "maildir").add(complaint(1))
    daemon = Daemon(config, env={"NOTIFY_SOCKET": "", "WATCHDOG_USEC": ""})
    try:
        daemon.wait_for_log("inbound processed")
        assert daemon.stop() == 0
        assert "systemd notify failed" not in daemon.log
    finally:
        daemon.kill()


def test_watchdog_is_not_fed_while_a_loop_is_stuck(tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    notifier = Notifier({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "200000"})
    assert notifier.watchdog_seconds == 0.2
    healthy = threading.Event()
    healthy.set()
    feeder = WatchdogFeeder(notifier, healthy.is_set)
    feeder.start()
    try:
        notify.wait_for("WATCHDOG", count=3, timeout=5)
        healthy.clear()
        time.sleep(0.3)  # a ping already on its way may still land
        stalled = notify.count("WATCHDOG")
        time.sleep(0.6)
        assert notify.count("WATCHDOG") == stalled
        healthy.set()
        notify.wait_for("WATCHDOG", count=stalled + 2, timeout=5)
    finally:
        feeder.stop()
        notifier.close()
        notify.close()


def test_watchdog_pid_for_another_process_is_ignored():
    other = str(os.getpid() + 1)
    notifier = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": other})
    assert notifier.watchdog_seconds is None
    assert Notifier({"NOTIFY_SOCKET": "@abstract"}).address == "\0abstract"


def test_sighup_reloads_a_valid_config_and_keeps_the_running_one_when_broken(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    maildir(tmp_path / "maildir")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(config, env={"NOTIFY_SOCKET": str(notify.path)})
    try:
        notify.wait_for("READY")
        # A second mailbox appears in the file: SIGHUP makes the daemon watch it.
        text = config.read_text()
        second = f"""
[[mailboxes]]
name = "reclami"
office = "urp"
source = "maildir"
path = "{tmp_path / "reclami"}"
poll_seconds = 0.5
"""
        config.write_text(text.replace("[[offices]]", second + "[[offices]]", 1))
        maildir(tmp_path / "reclami").add(complaint(2))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("configuration reloaded")
        notify.wait_for("RELOADING")
        notify.wait_for("READY", count=2)
        daemon.wait_for_log("inbound processed")
        assert '"mailbox": "reclami"' in daemon.log

        # A mistake in the file: logged with its key, the running configuration stays.
        config.write_text(config.read_text().replace("response_days = 30", 'response_days = "x"'))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("configuration not reloaded, the running one stays")
        assert "offices[0].response_days: expected a whole number" in daemon.log
        maildir(tmp_path / "reclami").add(complaint(3))
        daemon.wait_for_log("inbound processed", count=2)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
        notify.close()
    services = make_services(write_config(tmp_path / "check.toml", transport="directory"))
    assert {w.mailbox for w in rows(services, WorkOrder)} == {"reclami"}
    assert len(rows(services, WorkOrder)) == 2


def test_sigterm_finishes_the_message_in_hand_and_loses_nothing(tmp_path):
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    box = maildir(tmp_path / "maildir")
    total = 300
    for n in range(total):
        box.add(complaint(n))
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("inbound processed", count=1)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    services = make_services(config)
    processed = daemon.log.count('"event": "inbound processed"')
    assert 1 <= processed < total, "the stop came too late to prove anything"
    # Every message it started is complete: a ledger row and its case, nothing half-written.
    assert len(rows(services, InboundMessage)) == processed
    assert len(rows(services, WorkOrder)) == processed
    # The rest is still waiting and the next run takes exactly it.
    done = subprocess.run(
        [sys.executable, "-m", "mailbot", "--config", str(config), "run", "--once"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(rows(services, WorkOrder)) == total
    assert sorted(w.number for w in rows(services, WorkOrder))[-1].endswith(f"{total:06d}")


UNITS = sorted((REPO / "systemd").glob("mailbot*"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_units_pass_systemd_analyze_verify(tmp_path):
    assert {u.name for u in UNITS} >= {
        "mailbot.service",
        "mailbot-reconcile.service",
        "mailbot-reconcile.timer",
        "mailbot-reminders.service",
        "mailbot-reminders.timer",
        "mailbot-web.service",
    }
    # The units name /opt/mailbot's virtualenv; verify checks the executable exists.
    executable = Path(sys.executable).parent / "mailbot"
    for unit in UNITS:
        text = unit.read_text().replace("/opt/mailbot/.venv/bin/mailbot", str(executable))
        (tmp_path / unit.name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / u.name) for u in UNITS)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stderr.strip() == "", done.stderr


def test_service_unit_is_notify_with_watchdog_and_hardening():
    unit = (REPO / "systemd" / "mailbot.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=mailbot",
        "StateDirectory=mailbot",
        "ConfigurationDirectory=mailbot",
        "LoadCredential=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
    ):
        assert line in unit, line
