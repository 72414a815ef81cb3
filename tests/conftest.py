"""Shared fixtures: services on a throw-away database, a one-line `process("scenario")`, and the
real Dovecot and SMTP servers for integration tests. Helpers are in tests/support/."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from mailbot.services import Services
from mailbot.types import Outcome

from support.app import (
    IMAP_PASSWORD,
    TEST_DATABASE,
    imap_mailbox,
    make_process,
    make_services,
    write_config,
)
from support.clock import today_is
from support.servers import Dovecot, Rspamd, SmtpServer, make_certificate


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each run leaves out what is about the other database: the PostgreSQL run the embedded
    default (the demo), the SQLite run what only PostgreSQL can do."""
    other = "postgresql" if TEST_DATABASE == "sqlite" else "embedded"
    left_out = [item for item in items if item.get_closest_marker(other)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {TEST_DATABASE} (MAILBOT_TEST_DATABASE)"


# The day a unit test runs at unless it states its own: a Wednesday in March 2026, a working
# day far from holidays and clock changes. No unit test reads the real date; the tests about
# awkward days (Saturdays, Easter, New Year's Eve, the clocks going back) say which day.
UNIT_TEST_TODAY = "2026-03-11T09:00:00+00:00"


@pytest.fixture(autouse=True)
def now(request: pytest.FixtureRequest) -> Iterator[datetime | None]:
    """The instant a test runs at: `@pytest.mark.today("2026-03-11T09:00+00:00")`, else
    UNIT_TEST_TODAY for a unit test. Its clock and its subprocesses' start there
    (support/clock.py); None for an unmarked integration test, which talks to real servers."""
    marker = request.node.get_closest_marker("today")
    if marker is not None:
        instant = marker.args[0]
    elif request.node.path.is_relative_to(Path(__file__).parent / "unit"):
        instant = UNIT_TEST_TODAY
    else:
        yield None
        return
    with today_is(datetime.fromisoformat(instant)) as moment:
        yield moment


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    (tmp_path / "maildir").mkdir()
    svc = make_services(write_config(tmp_path / "mailbot.toml"))
    yield svc
    svc.engine.dispose()


@pytest.fixture
def process(services: Services) -> Callable[..., Outcome]:
    return make_process(services)


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rspamd]:
    """A private rspamd on loopback (Debian's package, a config of its own)."""
    server = Rspamd(tmp_path_factory.mktemp("rspamd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if not Path(shutil.which("dovecot") or "/usr/sbin/dovecot").exists():
        pytest.fail("Dovecot is not installed: run scripts/test, which installs dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="mailbot-dovecot-"))
    os.chmod(root, 0o755)
    server = Dovecot(root, *make_certificate(root))
    # All accounts exist before start: Dovecot notices passwd-file changes by mtime, with
    # one-second resolution, so an account added later can go unseen for a moment.
    for n in range(1, ACCOUNTS + 1):
        server.add_user(f"box{n}", IMAP_PASSWORD)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


ACCOUNTS = 500


_users = itertools.count(1)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    """A fresh, empty mailbox account on the shared Dovecot for each test."""
    n = next(_users)
    assert n <= ACCOUNTS, "raise ACCOUNTS in conftest.py"
    return f"box{n}"


@pytest.fixture
def fresh_imap_user(dovecot: Dovecot) -> Callable[[], str]:
    """More fresh accounts in one test (office, citizen...)."""

    def make() -> str:
        n = next(_users)
        assert n <= ACCOUNTS, "raise ACCOUNTS in conftest.py"
        return f"box{n}"

    return make


@pytest.fixture(scope="session")
def smtp_session() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_session: SmtpServer) -> SmtpServer:
    smtp_session.reset()
    return smtp_session


@pytest.fixture
def imap_config(tmp_path: Path, dovecot: Dovecot, imap_user: str, smtp: SmtpServer) -> Path:
    return write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(dovecot.port, imap_user, poll_seconds=2),
    )


@pytest.fixture
def imap_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", IMAP_PASSWORD)
    return IMAP_PASSWORD
