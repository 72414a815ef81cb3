"""The online desk's limits against crafted requests on real sockets (issue 28): a body over
the cap plus the form is refused before it is read (declared or chunked); one client's slow
connections neither exhaust the server nor outlast the time to send a request; refused posts
count against a limit of their own; the filing limit holds under concurrency, is shared through
the database, and believes X-Forwarded-For only from the named proxies; under `mailbot run`
the form is served by a process of its own, replaced when it dies."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailbot import db
from mailbot.models import WebHit, WorkOrder
from mailbot.runtime.web_process import WebProcess
from mailbot.services import Services
from mailbot.web.app import create_app
from mailbot.web.clients import client_address, networks
from mailbot.web.limits import take
from mailbot.web.server import WebServer

from support.app import make_services, rows, write_config
from support.servers import free_port
from support.web import form_of

pytestmark = pytest.mark.integration

MB = 1024 * 1024
NOW = datetime(2026, 3, 11, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def desk_config(base: Path, web: str = "") -> Path:
    (base / "maildir").mkdir(exist_ok=True)
    return write_config(
        base / "mailbot.toml",
        transport="directory",
        extra=f'[web]\nlisten = "127.0.0.1:{free_port()}"\nmax_upload_mb = 1\n{web}\n',
    )


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Services, int]]:
    web = getattr(request, "param", "")
    services = make_services(desk_config(tmp_path, web))
    server = WebServer(lambda: services)
    server.start()
    yield services, server.port
    server.stop()
    services.engine.dispose()


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


def answer(sock: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def test_a_body_declared_far_over_the_cap_is_refused_before_it_is_sent(served):
    _, port = served
    sock = connect(port)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: desk\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        b"Content-Length: 943718400\r\n\r\n"  # 900 MB declared, none sent
    )
    reply = answer(sock).decode("utf-8", "replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "superano il limite di 1 MB" in reply


def test_a_chunked_body_over_the_cap_is_cut_while_it_is_sent(served):
    _, port = served
    sock = connect(port)
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: desk\r\nContent-Type: multipart/form-data; boundary=x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"a" * 64 * 1024)
    sent = 0
    try:  # the server stops reading past the limit: the send blocks (a timeout) or fails
        while sent < 40 * MB:
            sock.sendall(chunk)
            sent += 64 * 1024
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    reply = answer(sock)
    # what the kernel's buffers hold on both sides aside, nothing past the limit was read
    assert sent < 16 * MB, f"{sent} bytes were taken before the refusal"
    assert reply.startswith(b"HTTP/1.1 413") or not reply


def test_one_client_slow_connections_leave_the_page_to_everyone_else(served):
    _, port = served
    slow = []
    for _ in range(110):  # each begins a request and sends nothing more
        sock = connect(port)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: desk\r\n")
        slow.append(sock)
    try:
        other = connect(port, source="127.0.0.2")
        other.sendall(b"GET / HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
        assert answer(other).startswith(b"HTTP/1.1 200")
        closed = 0
        for sock in slow:
            sock.settimeout(0.05)
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
            except TimeoutError:
                pass
        assert closed >= 100  # all but connections_per_client (10) were let go
    finally:
        for sock in slow:
            sock.close()


@pytest.mark.parametrize("served", ['request_timeout = "2s"'], indirect=True)
def test_a_request_trickled_a_byte_at_a_time_is_cut(served):
    _, port = served
    sock = connect(port)
    sock.sendall(b"GET / HTTP/1.1\r\n")
    began = time.monotonic()
    cut = False
    while time.monotonic() - began < 15:
        try:
            sock.sendall(b"X")
        except (BrokenPipeError, ConnectionResetError):
            cut = True
            break
        sock.settimeout(0.5)
        try:
            if sock.recv(1) == b"":
                cut = True
                break
        except TimeoutError:
            pass
    assert cut and time.monotonic() - began < 6


def form_client(services: Services):
    return create_app(lambda: services).test_client()


def test_refused_posts_count_against_a_limit_with_a_clear_page(tmp_path):
    services = make_services(desk_config(tmp_path, 'attempt_limit = "3 per hour"'))
    try:
        client = form_client(services)
        for _ in range(3):  # no CSRF token: refused, and counted
            assert client.post("/", data={"subject": "x"}).status_code == 400
        refused = client.post("/", data={"subject": "x"})
        assert refused.status_code == 429
        assert "Troppe segnalazioni" in refused.get_data(as_text=True)
        assert client.get("/").status_code == 200  # reading the form is not limited
    finally:
        services.engine.dispose()


def submission(port: int) -> tuple[urllib.request.OpenerDirector, bytes]:
    """A visitor's cookie jar and a complete, valid form for the served page."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"http://127.0.0.1:{port}/", timeout=10) as page:
        shown = page.read().decode()
    form = form_of(shown, subject="Buca", text="Buca in via Roma.", privacy="y")
    return opener, urllib.parse.urlencode(form).encode()


@pytest.mark.parametrize(
    "served", ['rate_limit = "5 per hour"\nconnections_per_client = 30'], indirect=True
)
def test_twenty_concurrent_submissions_against_a_limit_of_five_file_five(served):
    services, port = served
    visitors = [submission(port) for _ in range(20)]
    statuses: list[int] = []
    start = threading.Barrier(20)

    def send(opener: urllib.request.OpenerDirector, form: bytes) -> None:
        start.wait()
        try:
            with opener.open(f"http://127.0.0.1:{port}/", data=form, timeout=60) as answer:
                statuses.append(answer.status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)

    threads = [threading.Thread(target=send, args=visitor) for visitor in visitors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 5 + [429] * 15
    assert len(rows(services, WorkOrder)) == 5


def test_twenty_concurrent_takes_of_a_limit_of_five_let_five_through(tmp_path):
    services = make_services(desk_config(tmp_path))
    granted: list[int | None] = []
    start = threading.Barrier(20)

    def one() -> None:
        start.wait()
        granted.append(take(services.engine, "filed 203.0.113.7", "5 per hour", NOW))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sum(hit is not None for hit in granted) == 5
        # another instance on the same database sees the same count, as would a restart
        other = db.make_engine(str(services.engine.url))
        assert take(other, "filed 203.0.113.7", "5 per hour", NOW) is None
        assert take(other, "filed 198.51.100.9", "5 per hour", NOW) is not None
        other.dispose()
    finally:
        services.engine.dispose()


def test_forwarded_for_is_believed_only_from_the_named_proxies(tmp_path):
    trusted = networks(["10.0.0.1", "192.168.7.0/24"])
    assert client_address("10.0.0.1", "6.6.6.6, 203.0.113.7", trusted) == "203.0.113.7"
    assert client_address("10.0.0.1", "203.0.113.7, 192.168.7.3", trusted) == "203.0.113.7"
    assert client_address("198.51.100.9", "203.0.113.7", trusted) == "198.51.100.9"
    services = make_services(
        desk_config(tmp_path, 'attempt_limit = "2 per hour"\ntrusted_proxies = ["10.0.0.1"]')
    )
    try:
        client = form_client(services)
        for n in range(2):  # the test client's peer is 127.0.0.1: not a proxy of ours
            client.post("/", data={}, headers={"X-Forwarded-For": f"203.0.113.{n}"})
        spoofed = client.post("/", data={}, headers={"X-Forwarded-For": "203.0.113.99"})
        assert spoofed.status_code == 429
    finally:
        services.engine.dispose()


def test_the_old_trusted_proxy_flag_is_refused_with_what_replaces_it(tmp_path):
    from mailbot.errors import ConfigError

    with pytest.raises(ConfigError, match="trusted_proxies"):
        make_services(desk_config(tmp_path, "trusted_proxy = true"))


def get(port: int) -> bytes:
    sock = connect(port)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
    return answer(sock)


def served_by_another(web: WebProcess, old: int | None) -> None:
    """Wait until a process other than `old` serves the form."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.pid() not in (None, old):
            try:
                if get(web.port).startswith(b"HTTP/1.1 200"):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    pytest.fail("no new web process served the form")


def test_the_daemon_serves_the_form_from_a_process_of_its_own_replaced_when_it_dies(tmp_path):
    services = make_services(desk_config(tmp_path))
    web = WebProcess()
    web.start(services)
    try:
        first = web.pid()
        assert first is not None and first != os.getpid()
        assert get(web.port).startswith(b"HTTP/1.1 200")
        os.kill(first, signal.SIGKILL)
        served_by_another(web, first)
        second = web.pid()
        # a reload with another [web] section: a child with the new limits takes over
        (tmp_path / "mailbot.toml").write_text(
            (tmp_path / "mailbot.toml")
            .read_text()
            .replace("max_upload_mb = 1\n", "max_upload_mb = 1\nconnections_per_client = 3\n")
        )
        reloaded = make_services(tmp_path / "mailbot.toml")
        web.update(reloaded)
        served_by_another(web, second)
        slow = [connect(web.port) for _ in range(3)]
        try:
            assert get(web.port) == b""  # a fourth connection from this client: closed
        finally:
            for sock in slow:
                sock.close()
        reloaded.engine.dispose()
    finally:
        web.stop()
        services.engine.dispose()
    assert web.pid() is None


def test_hits_older_than_every_window_are_swept_whoever_they_belong_to(tmp_path):
    services = make_services(desk_config(tmp_path))
    earlier = NOW.replace(hour=6)
    try:
        for n in range(99):  # clients that never came back
            assert take(services.engine, f"attempt 203.0.113.{n}", "5 per hour", earlier)
        assert take(services.engine, "attempt 198.51.100.9", "5 per hour", NOW, HOUR) == 100
        assert [hit.key for hit in rows(services, WebHit)] == ["attempt 198.51.100.9"]
    finally:
        services.engine.dispose()


@pytest.mark.parametrize(
    "served", ['attempt_limit = "2 per hour"\nconnections_per_client = 30'], indirect=True
)
def test_after_a_429_the_client_posts_are_refused_at_their_headers_unread(served):
    _, port = served
    for _ in range(3):  # two refused forms, then the limit
        sock = connect(port)
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: desk\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
        )
        last = answer(sock)
    assert last.startswith(b"HTTP/1.1 429")
    sock = connect(port)
    sock.sendall(  # 1 MB announced (under the cap), none sent: the answer comes anyway
        b"POST / HTTP/1.1\r\nHost: desk\r\nContent-Length: 1048576\r\n\r\n"
    )
    reply = answer(sock).decode("utf-8", "replace")
    assert reply.startswith("HTTP/1.1 429") and "Troppe segnalazioni" in reply
    assert get(port).startswith(b"HTTP/1.1 200")  # the form itself is still shown
