"""Content-addressed file store for original messages and attachments (evidence).

Objects live at `<root>/objects/ab/cdef…` named by their SHA-256. A write goes to a temporary
file, is fsynced and renamed into place, so a crash never leaves a half-written object and the
same bytes are stored once however often they arrive.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from mailbot.errors import ConfigError, StorageUnavailableError


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"

    def ensure(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.objects.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"storage.path: cannot create {self.root}: {exc.strerror}") from None
        if not os.access(self.objects, os.W_OK):
            raise ConfigError(f"storage.path: {self.root} is not writable")

    def path(self, digest: str) -> Path:
        return self.objects / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(target)
            _fsync_dir(target.parent)
        except OSError as exc:  # disk full, read-only, permissions: nothing is lost, retry
            tmp.unlink(missing_ok=True)
            raise StorageUnavailableError(f"storage unavailable: {exc}") from exc
        return digest

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store bytes that arrive in pieces, never holding them all: (sha256, size)."""
        self.objects.mkdir(parents=True, exist_ok=True)
        tmp = self.objects / f".incoming.{secrets.token_hex(8)}.tmp"
        digest = hashlib.sha256()
        size = 0
        try:
            with tmp.open("wb") as fh:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            target = self.path(digest.hexdigest())
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(target)
            _fsync_dir(target.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageUnavailableError(f"storage unavailable: {exc}") from exc
        return digest.hexdigest(), size

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def delete(self, digest: str) -> bool:
        """Remove an object for good (retention); False when it was not there."""
        target = self.path(digest)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageUnavailableError(f"storage: cannot delete {target}: {exc}") from exc
        return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create_secret(root: Path) -> bytes:
    """The server secret that signs our Message-IDs; created once, readable only by us."""
    path = root / "secret.key"
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise ConfigError(f"storage.path: cannot read {path}: {exc}") from None
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another instance created it first
        return load_or_create_secret(root)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value.hex())
    return value
