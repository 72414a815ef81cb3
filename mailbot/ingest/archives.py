"""What is inside an archive attachment, judged without trusting it: a `.zip` holding a file
type the policy refuses is refused like that file, and an archive that cannot be looked into
is refused too ("not inspectable"): the office cannot tell what it would open.

Bounded whatever the archive claims: the member count is read from the end record before the
central directory is parsed (`MAX_MEMBERS`, over all levels); only a nested archive is ever
decompressed, through a reader stopped at `MAX_INFLATED` bytes in all (a zip bomb's declared
sizes are never believed); archives nest to `MAX_DEPTH`. Member names are judged whole by the
same reading of names as attachments (limits.blocked_name). Encrypted members, unknown
compression methods, corrupt or truncated archives: not inspectable.

Archive formats the standard library cannot read (`UNREADABLE`: RAR, 7-Zip, CAB…) are not
inspectable either. A zip is known by its name (".zip", read like any name) or by its first
bytes (so a renamed one and the Office and OpenDocument formats, which are zips, are looked into
as well).
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.ingest.limits import blocked_name, name_extensions

MAX_DEPTH = 3  # an archive in an archive in an archive
MAX_MEMBERS = 1000
MAX_INFLATED = 64 * 1024 * 1024
ZIP_EXTENSIONS = (".zip",)
UNREADABLE = (".rar", ".7z", ".ace", ".arj", ".cab", ".lzh", ".lha", ".tar", ".gz", ".tgz",
              ".bz2", ".tbz", ".xz", ".txz", ".zst", ".zipx", ".z", ".uue")  # fmt: skip
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_END_RECORD = b"PK\x05\x06"
_ZIP64_COUNT = 0xFFFF
_ENCRYPTED = 0x1

BLOCKED_INSIDE = "a blocked file type inside"
NOT_INSPECTABLE = "not inspectable"


class _Refuse(Exception):
    pass


@dataclass
class _Budget:
    members: int = MAX_MEMBERS
    inflated: int = MAX_INFLATED


def is_zip(filename: str, payload: bytes) -> bool:
    return payload.startswith(_ZIP_MAGIC) or any(
        e in ZIP_EXTENSIONS for e in name_extensions(filename)
    )


def archive_problem(filename: str, payload: bytes, blocked: Sequence[str]) -> str | None:
    """Why this attachment is refused as an archive (BLOCKED_INSIDE, NOT_INSPECTABLE), or
    None: not an archive, or one holding nothing the policy refuses."""
    if any(e in UNREADABLE for e in name_extensions(filename)):
        return NOT_INSPECTABLE
    if not is_zip(filename, payload):
        return None
    try:
        _look_into(payload, blocked, depth=1, budget=_Budget())
    except _Refuse as refused:
        return str(refused)
    return None


def _look_into(payload: bytes, blocked: Sequence[str], depth: int, budget: _Budget) -> None:
    budget.members -= _declared_members(payload)
    if budget.members < 0:
        raise _Refuse(NOT_INSPECTABLE)
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            for member in archive.infolist():
                _judge(archive, member, blocked, depth, budget)
    except _Refuse:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError,
            ValueError, OSError, EOFError, struct.error, UnicodeDecodeError):  # fmt: skip
        raise _Refuse(NOT_INSPECTABLE) from None


def _judge(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, blocked: Sequence[str], depth: int,
    budget: _Budget,
) -> None:  # fmt: skip
    budget.members -= 1  # the directory may hold more entries than its end record says
    if budget.members < -MAX_MEMBERS:
        raise _Refuse(NOT_INSPECTABLE)
    name = member.filename.replace("\\", "/").rstrip("/")
    if blocked_name(name, blocked) or blocked_name(name.rsplit("/", 1)[-1], blocked):
        raise _Refuse(BLOCKED_INSIDE)
    if member.is_dir():
        return
    if member.flag_bits & _ENCRYPTED:
        raise _Refuse(NOT_INSPECTABLE)
    if any(e in UNREADABLE for e in name_extensions(name)):
        raise _Refuse(NOT_INSPECTABLE)
    with archive.open(member) as stream:
        head = stream.read(4)
        if not (head.startswith(_ZIP_MAGIC) or is_zip(name, b"")):
            return
        if depth >= MAX_DEPTH:
            raise _Refuse(NOT_INSPECTABLE)
        # never more than what is left of the budget, whatever the member declares
        inner = head + stream.read(budget.inflated - len(head) + 1)
    budget.inflated -= len(inner)
    if budget.inflated < 0:
        raise _Refuse(NOT_INSPECTABLE)
    _look_into(inner, blocked, depth + 1, budget)


def _declared_members(payload: bytes) -> int:
    """The member count the end-of-central-directory record declares (read before the
    directory itself); no record: 0 (zipfile then refuses the archive as corrupt)."""
    at = payload.rfind(_END_RECORD, max(0, len(payload) - 65_557))
    if at < 0 or len(payload) < at + 22:
        return 0
    (count,) = struct.unpack_from("<H", payload, at + 10)
    return MAX_MEMBERS + 1 if count == _ZIP64_COUNT else int(count)
