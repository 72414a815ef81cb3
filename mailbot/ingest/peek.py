"""What the ledger records of a message before it is parsed, from its header block only. No
database module: the read-ahead process (`runtime.readahead`) peeks too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class Peek:
    """What the ledger records before the message is parsed: from the header block only."""

    message_id: str | None
    sender: str
    subject: str


def peek(raw: bytes) -> Peek:
    end = _HEADER_END.search(raw)
    head = raw[: end.start()] if end else raw
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    value = headers.get("Message-ID")
    found = _MSGID.search(str(value)) if value is not None else None
    return Peek(
        message_id=found.group(0) if found else None,
        sender=_decoded(headers.get("From"))[:320],
        subject=_decoded(headers.get("Subject"))[:2000],
    )


def peek_message_id(raw: bytes) -> str | None:
    """The Message-ID, read from the header block only (no full parse on the hot path)."""
    return peek(raw).message_id


def _decoded(value: object) -> str:
    if value is None:
        return ""
    try:
        return " ".join(str(make_header(decode_header(str(value)))).split())
    except (ValueError, LookupError, UnicodeError):
        return " ".join(str(value).split())
