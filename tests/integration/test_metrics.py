"""`[metrics] listen`: Prometheus metrics and /healthz from a running daemon."""

from __future__ import annotations

import json
import mailbox
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailbot import config as config_module
from mailbot.errors import ConfigError

from support.app import REPO, Daemon, complaint, write_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_and_healthz_of_a_running_daemon(tmp_path):
    port = free_port()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f'[metrics]\nlisten = "127.0.0.1:{port}"',
    )
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(complaint(1))
    box.add(complaint(2))
    box.add(
        b"From: assente@example.net\nTo: suggerimenti@comune.example.it\n"
        b"Subject: Fuori sede\nAuto-Submitted: auto-replied\nMessage-ID: <ooo@example.net>\n\n"
        b"Rientro luned\xc3\xac\n"
    )
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("mailbox drained")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:  # the outbox loop sends the confirmations a moment later
            status, text = get(f"{base}/metrics")
            found = samples(text)
            sent = found.get(("mailbot_outbound_messages_total", (("result", "sent"),)), 0)
            if sent >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == 200
        box_label = (("mailbox", "suggerimenti"),)
        assert found[("mailbot_messages_ingested_total", (*box_label, ("outcome", "filed")))] == 2
        assert found[("mailbot_messages_ingested_total", (*box_label, ("outcome", "ignored")))] == 1
        assert found[("mailbot_cases_opened_total", box_label)] == 2
        assert found[("mailbot_message_processing_seconds_count", box_label)] == 3
        assert found[("mailbot_message_processing_seconds_sum", box_label)] > 0
        state = (("mailbot_mailbox_state", "connected"), *box_label)
        assert found[("mailbot_mailbox_state", state)] == 1
        disconnected = (("mailbot_mailbox_state", "disconnected"), *box_label)
        assert found[("mailbot_mailbox_state", disconnected)] == 0
        assert sent == 4  # two confirmations, two office notifications
        assert found[("mailbot_outbox_pending", ())] == 0
        assert found[("mailbot_outbox_oldest_pending_seconds", ())] == 0
        assert found[("mailbot_cases_open", ())] == 2
        assert found[("mailbot_cases_overdue", ())] == 0
        assert found[("mailbot_database_up", ())] == 1

        status, body = get(f"{base}/healthz")
        assert status == 200
        health = json.loads(body)
        assert health["status"] == "ok"
        assert health["mailboxes"] == {"suggerimenti": "connected"}
        assert health["database"] == "ok"
        assert health["problems"] == []

        assert get(f"{base}/other")[0] == 404
        assert '"event": "metrics listening"' in daemon.log
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_healthz_is_503_while_a_mailbox_is_down(tmp_path):
    port = free_port()
    dead = free_port()  # nothing listens there
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        mailbox={
            "source": "imap",
            "host": "127.0.0.1",
            "port": dead,
            "username": "nobody",
            "password_env": "MAILBOT_IMAP_PASSWORD",
        },
        extra=f'[metrics]\nlisten = "127.0.0.1:{port}"',
    )
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("mailbox unavailable")
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert status == 503
        health = json.loads(body)
        assert health["status"] == "unhealthy"
        assert health["mailboxes"] == {"suggerimenti": "disconnected"}
        assert "mailbox suggerimenti disconnected" in health["problems"]
        _, text = get(f"http://127.0.0.1:{port}/metrics")
        state = samples(text)[
            (
                "mailbot_mailbox_state",
                (("mailbot_mailbox_state", "disconnected"), ("mailbox", "suggerimenti")),
            )
        ]
        assert state == 1
        assert daemon.stop() == 0
    finally:
        daemon.kill()


def test_a_busy_metrics_port_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(
            tmp_path / "mailbot.toml",
            transport="directory",
            extra=f'[metrics]\nlisten = "127.0.0.1:{port}"',
        )
        mailbox.Maildir(tmp_path / "maildir", create=True)
        done = subprocess.run(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"metrics.listen: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("listen", "error"),
    [
        ("9108", "metrics.listen: expected HOST:PORT like 127.0.0.1:9108, got '9108'"),
        ("127.0.0.1:99999", "metrics.listen: port must be between 1 and 65535, got 99999"),
    ],
)
def test_metrics_listen_errors_name_the_key(tmp_path, listen, error):
    config = write_config(tmp_path / "mailbot.toml", extra=f'[metrics]\nlisten = "{listen}"')
    with pytest.raises(ConfigError) as caught:
        config_module.load(config)
    assert str(caught.value) == error


def test_metrics_listen_accepts_ipv6_and_defaults_off(tmp_path):
    settings = config_module.load(
        write_config(tmp_path / "a.toml", extra='[metrics]\nlisten = "[::1]:9108"')
    )
    assert (settings.metrics.host, settings.metrics.port) == ("::1", 9108)
    assert not config_module.load(write_config(tmp_path / "b.toml")).metrics.enabled
