"""aiosmtplib's two passes over every message it sends, made cheap for mail already in shape.

Before DATA, aiosmtplib rewrites each line ending to CRLF with a regular expression that also
matches (and replaces) every CRLF already there, twice a message (once to count the SIZE, once
to send), then doubles each leading dot with a `(?m)^\\.` substitution that tests every line.
Our messages are composed with CRLF line endings, so both rewrite a copy of the message line by
line to change nothing: ~2 ms for a 100 KB notification, most of the sender's CPU time (measured
with py-spy through a 3,000-message backlog).

`install()` puts in aiosmtplib's module functions that give the same bytes for every input
(tests/unit/test_smtp_fast.py compares them with aiosmtplib's own on crafted and random
messages) but leave a message with no lone CR or LF as it is, and double dots with
`bytes.replace`. If a release
of aiosmtplib no longer has the names, nothing is changed and its own code runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from aiosmtplib import protocol, smtp

_ENDING = re.compile(rb"(?:\r\n|\n|\r(?!\n))")  # aiosmtplib's LINE_ENDINGS_REGEX


def normalize_line_endings(message: bytes) -> bytes:
    """Lone CR and LF become CRLF; the message ends with CRLF (aiosmtplib's contract). Three
    counts (at C speed) tell a message with no lone one, which is then left as it is."""
    if not isinstance(message, bytes):  # a caller's bytearray is not extended in place
        message = bytes(message)
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _ENDING.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message


class _LeadingDots:
    """Stands in for aiosmtplib's `PERIOD_REGEX` (`(?m)^\\.`), of which only `sub` is used:
    a dot at the start of the message or after a LF is doubled."""

    pattern = rb"(?m)^\."

    @staticmethod
    def sub(replacement: bytes, message: bytes) -> bytes:
        if replacement != b"..":  # not the call this stands in for: the regular expression
            return re.sub(rb"(?m)^\.", replacement, message)
        if message.startswith(b"."):
            message = b"." + message
        return message.replace(b"\n.", b"\n..")


_ORIGINAL: dict[str, object] = {}


def install() -> bool:
    """Whether the fast paths are in place (aiosmtplib still has the names they replace)."""
    targets: list[tuple[object, str, object]] = [
        (protocol, "normalize_message_line_endings", normalize_line_endings),
        (smtp, "normalize_message_line_endings", normalize_line_endings),
        (protocol, "PERIOD_REGEX", _LeadingDots()),
    ]
    if not all(hasattr(module, name) for module, name, _ in targets):
        return False
    for module, name, fast in targets:
        key = f"{getattr(module, '__name__', '')}.{name}"
        _ORIGINAL.setdefault(key, getattr(module, name))
        setattr(module, name, fast)
    return True


def original(name: str) -> Callable[..., bytes]:
    """aiosmtplib's own function (`normalize`) or substitution (`dots`), for the tests."""
    if name == "normalize":
        found = _ORIGINAL.get("aiosmtplib.protocol.normalize_message_line_endings")
        return found if callable(found) else protocol.normalize_message_line_endings
    regex = _ORIGINAL.get("aiosmtplib.protocol.PERIOD_REGEX", protocol.PERIOD_REGEX)
    return lambda message: regex.sub(b"..", message)  # type: ignore[attr-defined]
