"""The IMAP source against a real Dovecot: what it sees, and when."""

from __future__ import annotations

import threading
import time

import pytest

from mailbot.config import MailboxSettings, Secret
from mailbot.errors import SourceUnavailableError
from mailbot.ingest.imap_source import ImapSource

from support.app import IMAP_PASSWORD

pytestmark = pytest.mark.integration
MAIL = b"From: a@example.net\r\nSubject: x\r\nMessage-ID: <%d@example.net>\r\n\r\nbody\r\n"


def source(dovecot, user, password_env="MAILBOT_IMAP_PASSWORD", batch_size=50):
    return ImapSource(
        MailboxSettings(
            name="suggerimenti",
            source="imap",
            office="urp",
            address="s@comune.example.it",
            host="127.0.0.1",
            port=dovecot.port,
            username=user,
            password=Secret("mailboxes[0]", env=password_env),
            batch_size=batch_size,
        )
    )


def test_mail_appended_by_another_client_is_seen_by_the_next_fetch(
    dovecot, imap_user, imap_password
):
    # Dovecot answers SEARCH from the session's view; without a sync (NOOP) first, mail that
    # arrived meanwhile stayed invisible until the next poll interval.
    src = source(dovecot, imap_user)
    src.connect()
    assert list(src.fetch(None)) == []
    dovecot.append(imap_user, IMAP_PASSWORD, [MAIL % 1])
    assert [o.uid for o, _ in src.fetch(None)] == [1]
    src.close()


def test_fetch_is_oldest_first_in_batches_and_after_the_cursor(dovecot, imap_user, imap_password):
    from mailbot.models import MailboxCursor

    dovecot.append(imap_user, IMAP_PASSWORD, [MAIL % i for i in range(7)])
    src = source(dovecot, imap_user, batch_size=3)
    src.connect()
    fetched = list(src.fetch(None))
    assert [o.uid for o, _ in fetched] == [1, 2, 3, 4, 5, 6, 7]
    assert fetched[0][1].endswith(b"body\r\n")
    assert all(o.uidvalidity == src.uidvalidity and o.received_at.tzinfo for o, _ in fetched)
    cursor = MailboxCursor(mailbox="suggerimenti", uidvalidity=src.uidvalidity, last_uid=7)
    assert list(src.fetch(cursor)) == []  # "8:*" still matches UID 7: filtered out
    stale = MailboxCursor(mailbox="suggerimenti", uidvalidity=src.uidvalidity + 1, last_uid=7)
    assert len(list(src.fetch(stale))) == 7  # another UIDVALIDITY: start again
    src.close()


def test_idle_wakes_up_on_new_mail_well_before_the_poll_interval(dovecot, imap_user, imap_password):
    src = source(dovecot, imap_user)
    src.connect()
    assert src.supports_idle
    threading.Timer(0.5, dovecot.append, (imap_user, IMAP_PASSWORD, [MAIL % 1])).start()
    started = time.monotonic()
    src.wait(20, threading.Event())
    assert time.monotonic() - started < 10
    assert [o.uid for o, _ in src.fetch(None)] == [1]
    src.close()


def test_wrong_password_is_a_clear_source_error(dovecot, imap_user, monkeypatch):
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", "wrong")
    with pytest.raises(SourceUnavailableError, match=r"login refused for box\d+@127.0.0.1:\d+"):
        source(dovecot, imap_user).connect()


def test_unreachable_server_is_a_clear_source_error(dovecot, imap_user, imap_password):
    from support.servers import free_port

    src = source(dovecot, imap_user)
    src.settings = src.settings.__class__(**{**src.settings.__dict__, "port": free_port()})
    with pytest.raises(SourceUnavailableError, match="cannot connect"):
        src.connect()
