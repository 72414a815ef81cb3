"""An IMAP batch's message bodies fetched in rounds bounded in bytes (`imap_source.fetch`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

FETCH_BYTES = 4_000_000


class Fetcher(Protocol):
    def fetch(self, messages: Sequence[int], data: Sequence[bytes]) -> dict[int, Any]: ...


class Bodies:
    """A batch's bodies in rounds of up to `FETCH_BYTES` by RFC822.SIZE (one message at least),
    each let go once taken (50 held at once made ~10 MB of the daemon's peak). A round is
    fetched when one of its messages is first asked for: an entry sent unasked in an earlier
    answer (a flag changed meanwhile) does not stand in for it."""

    def __init__(self, client: Fetcher, uids: list[int], meta: dict[int, Any]) -> None:
        self._client = client
        self._rounds: list[list[int]] = []
        size = 0
        for uid in uids:
            if not self._rounds or size + size_of(meta[uid]) > FETCH_BYTES:
                self._rounds.append([])
                size = 0
            self._rounds[-1].append(uid)
            size += size_of(meta[uid])
        self._round_of = {uid: n for n, each in enumerate(self._rounds) for uid in each}
        self._fetched = -1
        self._held: dict[int, Any] = {}

    def take(self, uid: int) -> bytes | None:
        n = self._round_of.get(uid)
        if n is None:
            return None
        if n > self._fetched:
            self._held = {}  # the last answer goes before the next is read
            self._held = dict(self._client.fetch(self._rounds[n], [b"BODY.PEEK[]"]))
            self._fetched = n
        data = self._held.pop(uid, None)
        if data is None or b"BODY[]" not in data:
            return None
        return bytes(data[b"BODY[]"])


def size_of(data: dict[bytes, object]) -> int:
    value = data.get(b"RFC822.SIZE")
    return int(value) if isinstance(value, int) else 0
