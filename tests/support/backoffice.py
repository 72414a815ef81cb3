"""The back office in tests: `office_client` (Flask's test client on the application),
`sign_in` (a session opened as the sign-in pages open one, its token in the client's cookie),
`served` (the application on 127.0.0.1 in a thread, for Chromium) and `csrf` (the token of a
page the test fetched, as a browser would post it back)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mailbot.backoffice import sessions
from mailbot.backoffice.app import create_app
from mailbot.backoffice.context import SESSION_KEY
from mailbot.services import Services


def office_client(services: Services) -> Any:
    app = create_app(lambda: services)
    app.config["TESTING"] = True
    return app.test_client()


def sign_in(client: Any, services: Services, address: str, via: str = "link") -> str:
    """Signs `client` in as the member at `address`; returns the session's token."""
    token = sessions.open_session(services, address, via)
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token
    return token


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def served(services: Services) -> Iterator[str]:
    """The back office on a free port of 127.0.0.1; yields its base URL."""
    from waitress.server import create_server

    server = create_server(create_app(lambda: services), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown(timeout=5)
        thread.join(timeout=10)
