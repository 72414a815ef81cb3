"""The waitress server of the online desk: on a thread of the daemon (`start`/`stop`), or in
the foreground for `mailbot web` (`serve`, until SIGTERM or Ctrl-C)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from waitress.server import create_server

from mailbot.errors import ConfigError
from mailbot.log import get_logger
from mailbot.services import Services
from mailbot.web.app import create_app

log = get_logger(__name__)

THREADS = 4  # requests served at once; each holds at most one database connection


class WebServer:
    def __init__(self, current: Callable[[], Services]) -> None:
        web = current().settings.web
        try:
            self._server = create_server(
                create_app(current),
                host=web.host,
                port=web.port,
                threads=THREADS,
                ident="mailbot",
                clear_untrusted_proxy_headers=False,
            )
        except OSError as exc:
            raise ConfigError(
                f"web.listen: cannot listen on {web.host}:{web.port}: {exc.strerror}"
            ) from None
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def run(self) -> None:
        """Serve in this thread until `stop` (or SystemExit / KeyboardInterrupt in it)."""
        log.info("web form listening", port=self.port)
        self._server.run()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="web", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Requests in hand are finished (up to 5 s); nothing new is taken."""
        if self._closed:
            return
        self._closed = True
        self._server.close()
        self._server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=10)


def serve(services: Services) -> None:
    """`mailbot web`: serve until SIGTERM or Ctrl-C."""
    server = WebServer(lambda: services)

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
    log.info("web form stopped")
