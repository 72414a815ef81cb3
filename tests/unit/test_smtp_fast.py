"""The fast paths put into aiosmtplib give the bytes its own code gives, for any message."""

from __future__ import annotations

import random

import pytest
from aiosmtplib import protocol, smtp

from mailbot.replies import smtp_fast

CRAFTED = [
    b"",
    b"a",
    b".",
    b"..",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\r",
    b"\r\r\n",
    b"\r\n\r",
    b"\n\n.",
    b".start\r\nmiddle\r\n.dot\r\n..two\r\nend",
    b"lone lf\nlone cr\rmixed\r\n\r\r\n\n\r.",
    b"Subject: x\r\n\r\n.\r\n",
    b"line\r\n.\r\n.\n.\r.",
]


def _random_messages(count: int) -> list[bytes]:
    rng = random.Random(7)
    alphabet = [b"\r", b"\n", b"\r\n", b".", b"a", b" ", b"\x00", b"\xff"]
    return [b"".join(rng.choices(alphabet, k=rng.randint(0, 60))) for _ in range(count)]


def _same(message: bytes) -> None:
    expected = smtp_fast.original("normalize")(message)
    assert smtp_fast.normalize_line_endings(message) == expected, message
    for text in (message, expected):
        assert smtp_fast._LeadingDots.sub(b"..", text) == smtp_fast.original("dots")(text), text


@pytest.mark.parametrize("message", CRAFTED)
def test_the_same_bytes_as_aiosmtplib(message):
    _same(message)


def test_the_same_bytes_as_aiosmtplib_for_random_messages():
    for message in _random_messages(5000):
        _same(message)


def test_installed_where_aiosmtplib_looks_them_up():
    assert smtp_fast.install()
    assert protocol.normalize_message_line_endings is smtp_fast.normalize_line_endings
    assert smtp.normalize_message_line_endings is smtp_fast.normalize_line_endings
    assert protocol.PERIOD_REGEX.sub(b"..", b".a\n.b") == b"..a\n..b"
    assert smtp_fast.install()  # twice: the originals are still aiosmtplib's own
    assert smtp_fast.original("normalize") is not smtp_fast.normalize_line_endings


def test_a_bytearray_is_not_changed_in_place():
    buffer = bytearray(b"no line end")
    assert smtp_fast.normalize_line_endings(buffer) == b"no line end\r\n"
    assert buffer == bytearray(b"no line end")
