"""The source interface the mailbox loop drives, and the factory that picks one from config."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from mailbot.config import MailboxSettings
from mailbot.models import MailboxCursor
from mailbot.storage import Store
from mailbot.types import Origin


class Source(Protocol):
    name: str
    supports_idle: bool

    def connect(self) -> str:
        """Open the mailbox; returns a description for logs. Raises SourceUnavailableError."""

    def fetch(self, cursor: MailboxCursor | None) -> Iterator[tuple[Origin, bytes]]:
        """New messages after the cursor, oldest first."""

    def processed(self, origin: Origin) -> None:
        """Called after the message's transaction committed."""

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Block until new mail may be there, the time is up or `stop` is set."""

    def close(self) -> None: ...


def make_source(
    settings: MailboxSettings, store: Store | None = None, max_message_bytes: int | None = None
) -> Source:
    """With a store and a size limit, larger messages are streamed into the store."""
    if settings.source == "imap":
        from mailbot.ingest.imap_source import ImapSource

        return ImapSource(settings, store=store, max_message_bytes=max_message_bytes)
    from mailbot.ingest.maildir_source import MaildirSource

    return MaildirSource(settings, store=store, max_message_bytes=max_message_bytes)
