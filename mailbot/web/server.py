"""The waitress server of the online desk, or of the back office (`part`, with the back office's
application factory handed in: it sits above this floor): in a process of `mailbot run`
(runtime/web_process.py, `run`/`stop`), or in the foreground for `mailbot web` and `mailbot
backoffice` (`serve`, until SIGTERM or Ctrl-C). Each listens where its section says (`[web]`,
`[backoffice]`); the limits below are `[web]`'s for both.

Its limits hold before the application sees a request: a body larger than the upload cap
plus the form's fields is refused with a 413 page before it is read (waitress stops reading at
the declared Content-Length, or where a chunked body passes the limit); a client (the peer, or
for a trusted proxy nobody) holds at most `[web] connections_per_client` connections, more are
closed at once; a request not sent whole within `[web] request_timeout` (a byte every few
seconds) is cut, and an idle connection after `_IDLE_SECONDS`. A client the application
refused with 429 (web/limits.py) has its posts refused at their headers for `_COOLDOWN`
seconds, their bodies unread: a flood costs neither the upload nor the form's parsing.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, ClassVar

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.utilities import Error
from waitress.wasyncore import close_all, dispatcher

from mailbot.errors import ConfigError
from mailbot.log import get_logger
from mailbot.services import Services
from mailbot.web.app import create_app, refusal_page
from mailbot.web.clients import client_address, is_trusted, networks

log = get_logger(__name__)

THREADS = 4  # requests served at once; each holds at most one database connection
CONNECTIONS = 100  # open at once, from everyone
_IDLE_SECONDS = 30  # a kept-alive connection with no request
_WARN_EVERY = 60.0
_COOLDOWN = 60.0  # after a 429, posts from that client are refused unread this long


Factory = Callable[[Callable[[], Services]], Flask]
NAMES = {"web": "web form", "backoffice": "back office"}  # part → its name in the logs


class WebServer:
    def __init__(
        self, current: Callable[[], Services], part: str = "web", create: Factory = create_app
    ) -> None:
        settings = current().settings
        web = settings.web
        site = settings.backoffice if part == "backoffice" else web
        app = create(current)
        self.name = NAMES[part]
        trusted = networks(site.trusted_proxies)
        self.refused = _Refused(app, trusted)
        try:
            self._server = create_server(
                self.refused,
                host=site.host,
                port=site.port,
                threads=THREADS,
                ident="mailbot",
                clear_untrusted_proxy_headers=False,
                max_request_body_size=int(app.config["MAX_CONTENT_LENGTH"]),
                connection_limit=CONNECTIONS,
                channel_timeout=_IDLE_SECONDS,
                cleanup_interval=5,
            )
        except OSError as exc:
            raise ConfigError(
                f"{part}.listen: cannot listen on {site.host}:{site.port}: {exc.strerror}"
            ) from None
        channel = _channel_class(app, web.connections_per_client, web.request_timeout)
        channel.trusted = trusted
        channel.refused = self.refused
        listeners: Any = getattr(self._server, "map", None) or self._server._map
        for listener in list(listeners.values()):
            if isinstance(listener, BaseWSGIServer):
                listener.channel_class = channel
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def run(self) -> None:
        """Serve in this thread until `stop` (or SystemExit / KeyboardInterrupt in it)."""
        log.info(f"{self.name} listening", port=self.port)
        self._server.run()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Requests in hand are finished (up to 5 s); nothing new is taken."""
        if self._closed:
            return
        self._closed = True
        if self._thread is None or not self._thread.is_alive():
            self._server.close()
            self._server.task_dispatcher.shutdown(timeout=5)
            return
        # Served by `start`: the sockets are closed in the serving thread (closed from here, a
        # select() under way there would fail), kept-alive connections too, or they would
        # hold the loop until they time out.
        listeners: Any = getattr(self._server, "map", None) or self._server._map
        trigger = self._server.trigger
        _pull(trigger, lambda: dispatcher.close(self._server))  # nothing new is taken
        self._server.task_dispatcher.shutdown(timeout=5)
        if not _pull(trigger, lambda: close_all(listeners)):
            self._thread.join(timeout=10)  # the loop ended on its own: nothing selects now
            close_all(listeners)
        self._thread.join(timeout=10)


def _pull(trigger: Any, thunk: Callable[[], object]) -> bool:
    """Run `thunk` in the serving thread; False when its loop has already closed the trigger
    (it ended on an error of its own while a connection was being refused)."""
    try:
        trigger.pull_trigger(thunk)
    except OSError:
        return False
    return True


def serve(services: Services, part: str = "web", create: Factory = create_app) -> None:
    """`mailbot web` (`mailbot backoffice`): serve until SIGTERM or Ctrl-C."""
    server = WebServer(lambda: services, part, create)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    log.info(f"{server.name} stopped")


class _Channel(HTTPChannel):  # type: ignore[misc]
    """A connection that counts its client's others and the time its request takes."""

    per_client = 10
    request_seconds = 60.0
    trusted: tuple[Any, ...] = ()
    refused: _Refused
    warned = 0.0  # when a refusal was last logged

    def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.began: float | None = None
        peer = str(addr[0]) if isinstance(addr, tuple) else ""
        self.parser_class = lambda adj: _Parser(adj, peer, self.refused)
        if peer and not is_trusted(peer, self.trusted) and self._others(peer) >= self.per_client:
            self.will_close = True
            if time.monotonic() - _Channel.warned > _WARN_EVERY:  # a flood is one line
                _Channel.warned = time.monotonic()
                log.warning("web connections refused: too many from one client")

    def _others(self, peer: str) -> int:
        return sum(
            1
            for other in list((self._map or {}).values())
            if other is not self
            and isinstance(other, HTTPChannel)
            and not other.will_close
            and isinstance(other.addr, tuple)
            and other.addr[0] == peer
        )

    def received(self, data: bytes) -> bool:
        if self.began is None and data:
            self.began = time.monotonic()
        done: bool = super().received(data)
        if self.request is None:  # nothing half-received: the next request's clock starts anew
            self.began = None
        return done

    def readable(self) -> bool:
        if self.began is not None and time.monotonic() - self.began > self.request_seconds:
            log.warning("web request cut: not sent within the time allowed")
            self.began = None
            self.will_close = True
        readable: bool = super().readable()
        return readable


class _Refusal(ErrorTask):  # type: ignore[misc]
    """waitress's own error answers, with the desk's pages for a body over the limit (413) and
    a client in its cooldown (429)."""

    pages: ClassVar[dict[int, bytes]] = {}

    def execute(self) -> None:
        error = self.request.error
        page = self.pages.get(getattr(error, "code", 0))
        if page is None:
            super().execute()
            return
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "text/html; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(page)
        self.write(page)


class _TooMany(Error):  # type: ignore[misc]
    code = 429
    reason = "Too Many Requests"


class _Refused:
    """The application, noting which clients it answered 429 and until when they wait."""

    def __init__(self, app: Any, trusted: tuple[Any, ...]) -> None:
        self.app = app
        self.trusted = trusted
        self.until: dict[str, float] = {}

    def client(self, peer: str, forwarded_for: str) -> str:
        return client_address(peer, forwarded_for, self.trusted)

    def waiting(self, client: str) -> bool:
        until = self.until.get(client)
        if until is not None and until < time.monotonic():
            self.until.pop(client, None)
            return False
        return until is not None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def noting(status: str, headers: Any, exc_info: Any = None) -> Any:
            if status.startswith("429"):
                if len(self.until) > 10_000:  # many clients: drop the expired
                    now = time.monotonic()
                    self.until = {c: t for c, t in self.until.items() if t > now}
                client = self.client(
                    environ.get("REMOTE_ADDR", ""), environ.get("HTTP_X_FORWARDED_FOR", "")
                )
                self.until[client] = time.monotonic() + _COOLDOWN
            return start_response(status, headers, exc_info)

        return self.app(environ, noting)


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """Refuses a post from a client in its cooldown as soon as its headers are in."""

    completed: bool
    error: Any

    def __init__(self, adj: Any, peer: str, refused: _Refused) -> None:
        super().__init__(adj)
        self.peer = peer
        self.refused = refused

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if (
            self.headers_finished
            and not self.completed
            and self.error is None
            and self.command == "POST"
            and self.refused.waiting(
                self.refused.client(self.peer, self.headers.get("X_FORWARDED_FOR", ""))
            )
        ):
            self.error = _TooMany("refused for a while")
            self.completed = True
            return len(data)  # the rest of the body is not read
        return consumed


def _channel_class(app: Flask, per_client: int, seconds: float) -> type[_Channel]:
    pages = {
        413: refusal_page(app, 413, "too_large").encode(),
        429: refusal_page(app, 429, "too_many").encode(),
    }
    refusal = type("Refusal", (_Refusal,), {"pages": pages})
    values = {"per_client": per_client, "request_seconds": seconds, "error_task_class": refusal}
    return type("Channel", (_Channel,), values)
