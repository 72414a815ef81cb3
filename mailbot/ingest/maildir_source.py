"""A local Maildir as a mailbox: the embedded default, no server needed.

New mail is what a delivery agent puts in `new/`; oldest first by delivery time (the leading
timestamp of the Maildir unique name, else the file's mtime). Once processed, a message moves
to `cur/` as a mail client would; the ledger remembers its unique name, so a crash between
commit and move never processes it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from mailbot.config import MailboxSettings
from mailbot.errors import SourceUnavailableError
from mailbot.models import MailboxCursor
from mailbot.types import Origin


class MaildirSource:
    supports_idle = False

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self.name = settings.name
        self.root = settings.path
        self._fetched: dict[str, Path] = {}  # unique name → file in new/, until processed

    def connect(self) -> str:
        missing = [d for d in ("new", "cur", "tmp") if not (self.root / d).is_dir()]
        if missing:
            raise SourceUnavailableError(
                f"mailbox {self.name}: {self.root} is not a Maildir (no {'/'.join(missing)}/)"
            )
        return f"Maildir {self.root}"

    def fetch(self, cursor: MailboxCursor | None) -> Iterator[tuple[Origin, bytes]]:
        try:
            entries = [(self._delivered(p), p.name, p) for p in (self.root / "new").iterdir()]
        except OSError as exc:
            raise SourceUnavailableError(f"mailbox {self.name}: {exc}") from exc
        for delivered, name, path in sorted(entries):
            if name.startswith("."):
                continue
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # taken by someone else meanwhile
                continue
            unique = name.split(":", 1)[0]
            self._fetched[unique] = path
            yield Origin(mailbox=self.name, received_at=delivered, source_ref=unique), raw

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

    def wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def close(self) -> None:
        return None

    @staticmethod
    def _delivered(path: Path) -> datetime:
        stamp = path.name.split(".", 1)[0]
        if stamp.isdigit():
            return datetime.fromtimestamp(int(stamp), UTC)
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
