"""An IMAP mailbox as a source: the only importer of imapclient.

The folder is opened read-only (EXAMINE) and fetched with `BODY.PEEK[]`, so mailbot never
changes flags and never relies on \\Seen: the cursor (UIDVALIDITY + last UID, kept in the
database) says what is new. Fetches go in batches. `wait` uses IDLE when the server offers it
and polls otherwise. Every failure to talk to the server becomes `SourceUnavailableError`.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from mailbot.config import MailboxSettings
from mailbot.errors import ConfigError, SourceUnavailableError
from mailbot.ingest.imap_rounds import Bodies, size_of
from mailbot.models import MailboxCursor
from mailbot.net.oauth import TokenSource
from mailbot.net.tls import tls_context
from mailbot.storage import Store
from mailbot.types import Origin

_NETWORK_ERRORS = (IMAPClientError, imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError)
_MSGID = re.compile(r"<[^<>\s]+>")
_IDLE_SLICE = 1.0  # seconds between checks of the stop flag while idling


CHUNK = 1024 * 1024  # partial FETCH size for oversized messages


class ImapSource:
    def __init__(
        self,
        settings: MailboxSettings,
        timeout: float = 60.0,
        store: Store | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.max_message_bytes = max_message_bytes if store is not None else None
        self.name = settings.name
        self.timeout = timeout
        self.client: IMAPClient | None = None
        self.tokens = TokenSource(settings.oauth) if settings.oauth is not None else None
        self.uidvalidity = 0
        self.supports_idle = False

    def connect(self) -> str:
        s = self.settings
        where = f"{s.username}@{s.host}:{s.port}"
        context = tls_context(s.ca_file) if s.security != "none" else None
        try:
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "tls",
                ssl_context=context,
                timeout=self.timeout,
            )
        except _NETWORK_ERRORS as exc:
            raise SourceUnavailableError(
                f"mailbox {self.name}: cannot connect to {where}: {exc}"
            ) from exc
        try:
            if s.security == "starttls":
                client.starttls(context)
            self._login(client)
            client.normalise_times = False  # keep INTERNALDATE's zone; we convert to UTC
            selected = client.select_folder(s.folder, readonly=True)
            self.supports_idle = s.idle and client.has_capability("IDLE")
        except LoginError as exc:
            _close_quietly(client)
            raise SourceUnavailableError(
                f"mailbox {self.name}: login refused for {where}: {_text(exc)}"
            ) from exc
        except ConfigError:
            _close_quietly(client)
            raise
        except _NETWORK_ERRORS as exc:
            _close_quietly(client)
            raise SourceUnavailableError(f"mailbox {self.name}: {where}: {_text(exc)}") from exc
        self.uidvalidity = int(selected[b"UIDVALIDITY"])
        self.client = client
        return f"IMAP {where}/{s.folder}"

    def _login(self, client: IMAPClient) -> None:
        s = self.settings
        if self.tokens is None:
            client.login(s.username, s.password.reveal())
            return
        try:
            client.oauth2_login(s.username, self.tokens.token())
        except LoginError:  # expired early or revoked: one more try with a fresh token
            self.tokens.invalidate()
            client.oauth2_login(s.username, self.tokens.token())

    def fetch(self, cursor: MailboxCursor | None) -> Iterator[tuple[Origin, bytes]]:
        client = self._client()
        last = cursor.last_uid if cursor and cursor.uidvalidity == self.uidvalidity else 0
        try:
            # SEARCH alone answers from the session's view, which can miss mail that arrived
            # while IDLE was being re-issued (seen with Dovecot); NOOP makes the server sync.
            client.noop()
            # "N:*" always matches the highest UID, even when it is below N: filter.
            uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)
            for start in range(0, len(uids), self.settings.batch_size):
                batch = uids[start : start + self.settings.batch_size]
                meta = client.fetch(batch, [b"RFC822.SIZE", b"INTERNALDATE"])
                limit = self.max_message_bytes
                small = [
                    u for u in batch if u in meta and (limit is None or size_of(meta[u]) <= limit)
                ]
                bodies = Bodies(client, small, meta)
                for uid in batch:
                    if uid not in meta:
                        continue  # expunged between SEARCH and FETCH
                    origin = self._origin(uid, meta[uid].get(b"INTERNALDATE"))
                    data = bodies.take(uid)
                    if data is not None:
                        yield origin, data
                    elif uid not in small:
                        yield self._stream(client, uid, origin)
        except _NETWORK_ERRORS as exc:
            self.close()
            raise SourceUnavailableError(
                f"mailbox {self.name}: fetch failed: {_text(exc)}"
            ) from exc

    def inventory(self) -> dict[int, str | None]:
        """Every UID in the folder with its Message-ID (headers only), for reconciliation."""
        client = self._client()
        result: dict[int, str | None] = {}
        try:
            client.noop()
            uids = sorted(client.search(["ALL"]))
            for start in range(0, len(uids), 500):
                batch = uids[start : start + 500]
                fetched = client.fetch(batch, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                for uid in batch:
                    data = fetched.get(uid, {})
                    header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
                    found = _MSGID.search(bytes(header).decode("ascii", "replace"))
                    result[uid] = found.group(0) if found else None
        except _NETWORK_ERRORS as exc:
            self.close()
            raise SourceUnavailableError(
                f"mailbox {self.name}: listing failed: {_text(exc)}"
            ) from exc
        return result

    def fetch_uids(self, uids: list[int]) -> Iterator[tuple[Origin, bytes]]:
        client = self._client()
        try:
            for start in range(0, len(uids), self.settings.batch_size):
                batch = uids[start : start + self.settings.batch_size]
                response = client.fetch(batch, [b"BODY.PEEK[]", b"INTERNALDATE"])
                for uid in batch:
                    data = response.get(uid)
                    if data is not None and b"BODY[]" in data:
                        yield self._origin(uid, data.get(b"INTERNALDATE")), bytes(data[b"BODY[]"])
        except _NETWORK_ERRORS as exc:
            self.close()
            raise SourceUnavailableError(
                f"mailbox {self.name}: fetch failed: {_text(exc)}"
            ) from exc

    def _stream(self, client: IMAPClient, uid: int, origin: Origin) -> tuple[Origin, bytes]:
        """An oversized message into the store in CHUNK-sized partial fetches: memory holds one
        chunk at a time; the first chunk (headers, first part) is what gets parsed."""
        assert self.store is not None
        head: list[bytes] = []

        def chunks() -> Iterator[bytes]:
            offset = 0
            while True:
                item = f"BODY.PEEK[]<{offset}.{CHUNK}>".encode()
                data = client.fetch([uid], [item]).get(uid, {})
                chunk = next((bytes(v) for k, v in data.items() if k.startswith(b"BODY[]")), b"")
                if not chunk:
                    return
                if not head:
                    head.append(chunk)
                yield chunk
                offset += len(chunk)
                if len(chunk) < CHUNK:
                    return

        digest, size = self.store.put_stream(chunks())
        return replace(origin, stored_sha256=digest, size=size), head[0] if head else b""

    def processed(self, origin: Origin) -> None:
        return None  # the cursor in the database is the record; the mailbox stays untouched

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Return when new mail may have arrived, `seconds` have passed or `stop` is set."""
        if not self.supports_idle:
            stop.wait(seconds)
            return
        client = self._client()
        deadline = time.monotonic() + seconds
        try:
            client.idle()
            try:
                while not stop.is_set() and time.monotonic() < deadline:
                    responses = client.idle_check(
                        timeout=min(_IDLE_SLICE, max(deadline - time.monotonic(), 0.1))
                    )
                    if any(r[1] in (b"EXISTS", b"RECENT") for r in responses if len(r) > 1):
                        break
            finally:
                client.idle_done()
        except _NETWORK_ERRORS as exc:
            self.close()
            raise SourceUnavailableError(f"mailbox {self.name}: IDLE failed: {_text(exc)}") from exc

    def close(self) -> None:
        if self.client is not None:
            _close_quietly(self.client)
            self.client = None

    def _client(self) -> IMAPClient:
        if self.client is None:
            self.connect()
        assert self.client is not None
        return self.client

    def _origin(self, uid: int, internal: object) -> Origin:
        received = internal if isinstance(internal, datetime) else datetime.now(UTC)
        if received.tzinfo is None:
            received = received.replace(tzinfo=UTC)
        return Origin(
            mailbox=self.name,
            received_at=received.astimezone(UTC),
            uidvalidity=self.uidvalidity,
            uid=uid,
        )


def _text(exc: BaseException) -> str:
    text = str(exc)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text or type(exc).__name__


def _close_quietly(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()
