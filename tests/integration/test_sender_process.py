"""`mailbot run` sends from a process of its own with `[outbox] sender = "process"`
(runtime/sender_process.py): it starts with the daemon, stops after the mail in hand when the
unit is stopped, dies with a killed daemon, and is replaced when it dies alone; nothing is lost
or sent twice on the way. With the default, `"thread"`, it sends from a thread of the daemon,
and a reload can move it from one to the other."""

from __future__ import annotations

import json
import mailbox
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mailbot.models import OutboundMessage, WorkOrder, utcnow

from support.app import REPO, Daemon, complaint, make_services, rows, write_config


def sender_pids(daemon: Daemon) -> list[int]:
    return [
        json.loads(line)["pid"]
        for line in daemon.lines
        if '"sender started"' in line and json.loads(line)["threaded"] is False
    ]


def gone(pid: int, timeout: float = 10.0) -> bool:
    """Exited (or a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def sent_files(directory: Path) -> int:
    return len(list(directory.glob("*.eml"))) if directory.is_dir() else 0


def each_written_out_is_marked_and_the_rest_due(config: Path, outbox_dir: Path) -> None:
    outbound = rows(make_services(config), OutboundMessage)
    sent = [o for o in outbound if o.status == "sent"]
    assert sent_files(outbox_dir) == len(sent) >= 5
    now = utcnow()
    assert all(o.next_attempt_at <= now for o in outbound if o.status == "pending")


def setup(tmp_path: Path, complaints: int, sender: str = "process") -> tuple[Path, Path]:
    # Mail added while the daemon runs is seen within half a second, not the default 5 s.
    maildir = {"source": "maildir", "path": str(tmp_path / "maildir"), "poll_seconds": 0.5}
    config = write_config(tmp_path / "mailbot.toml", transport="directory", mailbox=maildir)
    if sender != "thread":  # the default
        text = config.read_text()
        config.write_text(text.replace("[outbox]\n", f'[outbox]\nsender = "{sender}"\n'))
    box = mailbox.Maildir(tmp_path / "maildir")
    for n in range(complaints):
        box.add(complaint(n))
    return config, tmp_path / "sent"


def test_the_daemon_sends_from_a_child_process_that_dies_with_it(tmp_path):
    config, outbox_dir = setup(tmp_path, 3)
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=6)
        [pid] = sender_pids(daemon)
        assert pid != daemon.proc.pid and parent_of(pid) == daemon.proc.pid
        assert sent_files(outbox_dir) == 6
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)
        assert gone(pid), "the sender process outlived its SIGKILLed daemon"
    finally:
        daemon.kill()


def test_a_sender_process_that_dies_is_replaced_and_every_mail_goes_once(tmp_path):
    config, outbox_dir = setup(tmp_path, 2)
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=4)
        [first] = sender_pids(daemon)
        os.kill(first, signal.SIGKILL)
        assert gone(first)
        box = mailbox.Maildir(tmp_path / "maildir")
        for n in range(2, 5):
            box.add(complaint(n))
        daemon.wait_for_log("outbound sent", count=10, timeout=60)
        pids = sender_pids(daemon)
        assert len(pids) == 2 and pids[0] == first and parent_of(pids[1]) == daemon.proc.pid
        assert '"sender died' in daemon.log
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    services = make_services(config)
    assert len(rows(services, WorkOrder)) == 5
    assert {o.status for o in rows(services, OutboundMessage)} == {"sent"}
    assert sent_files(outbox_dir) == 10  # each mail once


def test_sigterm_to_the_whole_unit_stops_the_sender_after_the_mail_in_hand(tmp_path):
    """systemd sends SIGTERM to every process of the unit: the sender ignores it and stops when
    the daemon tells it, between two mails; each mail written out is marked sent, and each row
    it had claimed is due again at once for the next run."""
    config, outbox_dir = setup(tmp_path, 150)
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=5, timeout=60)
        [pid] = sender_pids(daemon)
        os.kill(pid, signal.SIGTERM)
        assert daemon.stop(timeout=40) == 0
        assert gone(pid)
    finally:
        daemon.kill()
    each_written_out_is_marked_and_the_rest_due(config, outbox_dir)


def test_a_reload_reaches_the_sender_process(tmp_path):
    """SIGHUP with a new outbox: the mail queued after it leaves the new way, from the same
    sender process (it is handed the new settings, not restarted)."""
    config, first_dir = setup(tmp_path, 1)
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=2)
        second_dir = tmp_path / "sent-after-reload"
        config.write_text(config.read_text().replace(str(first_dir), str(second_dir)))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("configuration reloaded")
        mailbox.Maildir(tmp_path / "maildir").add(complaint(1))
        daemon.wait_for_log("outbound sent", count=4)
        assert len(sender_pids(daemon)) == 1
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert sent_files(first_dir) == 2 and sent_files(second_dir) == 2


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(int(entry.name)) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def test_by_default_the_daemon_sends_from_a_thread_and_a_stop_marks_what_it_sent(tmp_path):
    """No child: the peak of a backlog is one process's (bench/backlog_rss.py). Stopped in the
    middle of 150 complaints, every mail written out is marked sent and the rest are due."""
    config, outbox_dir = setup(tmp_path, 150, sender="thread")
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=5, timeout=60)
        assert sender_pids(daemon) == []
        assert '"threaded": true' in daemon.log
        assert children(daemon.proc.pid) == []  # no sender, no multiprocessing tracker
        assert daemon.stop(timeout=40) == 0
    finally:
        daemon.kill()
    each_written_out_is_marked_and_the_rest_due(config, outbox_dir)


def test_a_reload_moves_the_sender_from_a_thread_to_a_process(tmp_path):
    config, outbox_dir = setup(tmp_path, 1, sender="thread")
    daemon = Daemon(config)
    try:
        daemon.wait_for_log("outbound sent", count=2)
        assert sender_pids(daemon) == []
        text = config.read_text()
        config.write_text(text.replace("[outbox]\n", '[outbox]\nsender = "process"\n'))
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_log("configuration reloaded")
        mailbox.Maildir(tmp_path / "maildir").add(complaint(1))
        daemon.wait_for_log("outbound sent", count=4)
        [pid] = sender_pids(daemon)
        assert parent_of(pid) == daemon.proc.pid
        assert daemon.stop() == 0
        assert gone(pid)
    finally:
        daemon.kill()
    assert sent_files(outbox_dir) == 4


def test_a_parent_that_fails_before_stopping_its_sender_still_exits(tmp_path):
    """The sender process ignores SIGTERM, and multiprocessing's own exit handler only sends
    that and waits: a parent that failed with the process still running used to wait forever.
    It now kills it, and exits with its error."""
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    make_services(config).engine.dispose()  # the database, migrated
    script = (
        "from mailbot import config\n"
        "from mailbot.runtime.sender_process import SenderProcess\n"
        f"settings = config.load(config.config_path({str(config)!r}))\n"
        "sender = SenderProcess(threaded=False)\n"
        "sender.ensure(settings)\n"
        "sender.deliver(lambda: False)\n"  # a pass: the process is up, SIGTERM ignored
        "print('PID', sender._process.pid, flush=True)\n"
        "raise RuntimeError('a bug before the stop')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert result.returncode == 1 and "a bug before the stop" in result.stderr
    [pid] = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("PID ")]
    assert gone(int(pid), timeout=1)
