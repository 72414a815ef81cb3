"""A local Maildir as a mailbox: the embedded default, no server needed.

New mail is what a delivery agent puts in `new/`; oldest first by delivery time (the leading
timestamp of the Maildir unique name, else the file's mtime). Once processed, a message moves
to `cur/` as a mail client would; the ledger remembers its unique name, so a crash between
commit and move never processes it twice.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from mailbot.config import MailboxSettings
from mailbot.errors import SourceUnavailableError
from mailbot.ingest.peek import peek_message_id
from mailbot.models import MailboxCursor
from mailbot.storage import Store
from mailbot.types import Origin

_CHUNK = 1024 * 1024


class MaildirSource:
    supports_idle = False

    def __init__(
        self,
        settings: MailboxSettings,
        store: Store | None = None,
        max_message_bytes: int | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.max_message_bytes = max_message_bytes if store is not None else None
        self.name = settings.name
        self.root = settings.path
        self._fetched: dict[str, Path] = {}  # unique name → file in new/, until processed
        self._taken: dict[str, Path] = {}  # unique name → file in cur/, as inventory saw it

    def connect(self) -> str:
        missing = [d for d in ("new", "cur", "tmp") if not (self.root / d).is_dir()]
        if missing:
            raise SourceUnavailableError(
                f"mailbox {self.name}: {self.root} is not a Maildir (no {'/'.join(missing)}/)"
            )
        return f"Maildir {self.root}"

    def fetch(self, cursor: MailboxCursor | None) -> Iterator[tuple[Origin, bytes]]:
        try:
            entries = [(self._delivered(p), _within_second(p.name), p.name, p)
                       for p in (self.root / "new").iterdir()]  # fmt: skip
        except OSError as exc:
            raise SourceUnavailableError(f"mailbox {self.name}: {exc}") from exc
        for delivered, _, name, path in sorted(entries):
            if name.startswith("."):
                continue
            unique = name.split(":", 1)[0]
            origin = Origin(mailbox=self.name, received_at=delivered, source_ref=unique)
            try:
                if (
                    self.max_message_bytes is not None
                    and path.stat().st_size > self.max_message_bytes
                ):
                    origin, raw = self._stream(path, origin)
                else:
                    raw = path.read_bytes()
            except FileNotFoundError:  # taken by someone else meanwhile
                continue
            self._fetched[unique] = path
            yield origin, raw

    def processed(self, origin: Origin) -> None:
        path = self._fetched.pop(origin.source_ref or "", None)
        if path is None:
            return
        try:
            path.rename(self.root / "cur" / f"{origin.source_ref}:2,")
        except FileNotFoundError:
            pass  # moved by someone else; the ledger has it either way
        except OSError as exc:
            raise SourceUnavailableError(
                f"mailbox {self.name}: cannot move {path.name}: {exc}"
            ) from exc

    def _stream(self, path: Path, origin: Origin) -> tuple[Origin, bytes]:
        """An oversized message copied into the store a megabyte at a time; returns its head."""
        assert self.store is not None
        with path.open("rb") as fh:
            head = fh.read(_CHUNK)
            fh.seek(0)
            digest, size = self.store.put_stream(iter(lambda: fh.read(_CHUNK), b""))
        return replace(origin, stored_sha256=digest, size=size), head

    def inventory(self) -> tuple[dict[str, str | None], int]:
        """What reconcile compares with the ledger: the messages already taken (in cur/) by
        unique name, with their Message-ID; and how many still wait in new/."""
        try:
            taken = {p.name.split(":", 1)[0]: p for p in (self.root / "cur").iterdir()}
            waiting = sum(1 for p in (self.root / "new").iterdir() if not p.name.startswith("."))
        except OSError as exc:
            raise SourceUnavailableError(f"mailbox {self.name}: {exc}") from exc
        self._taken = taken
        return {name: _message_id(path) for name, path in taken.items()}, waiting

    def fetch_refs(self, refs: list[str]) -> Iterator[tuple[Origin, bytes]]:
        """Messages already moved to cur/ that the ledger does not know, to file them now."""
        for ref in refs:
            path = self._taken[ref]
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            yield Origin(mailbox=self.name, received_at=self._delivered(path), source_ref=ref), raw

    def wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def close(self) -> None:
        return None

    @staticmethod
    def _delivered(path: Path) -> datetime:  # the unique name starts with the delivery time
        stamp = path.name.split(".", 1)[0]
        if stamp.isdigit():
            return datetime.fromtimestamp(int(stamp), UTC)
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


_SECOND_PARTS = re.compile(r"([MQ])(\d+)")


def _within_second(name: str) -> tuple[int, int]:
    """The order of deliveries within one second: the unique name's microseconds (M) and
    delivery counter (Q) as numbers ("M99999" comes before "M100000", which sorting the names
    as text gets wrong)."""
    parts = dict(_SECOND_PARTS.findall(name.split(".")[1] if name.count(".") >= 2 else ""))
    return int(parts.get("M", 0)), int(parts.get("Q", 0))


def _message_id(path: Path) -> str | None:
    """From the header block only (the first 64 KB are plenty)."""
    try:
        with path.open("rb") as fh:
            return peek_message_id(fh.read(65536))
    except FileNotFoundError:
        return None
