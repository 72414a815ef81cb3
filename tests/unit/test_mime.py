"""The wire bytes of what we send (replies/mime.py): folded as compat32 folds, and read back by
the standard library as the same text, HTML, names and attachments."""

from __future__ import annotations

import email
import random
import string
from email.header import Header, decode_header, make_header
from email.policy import compat32

from mailbot.replies.mime import _UTF8, _fold, mime_bytes
from mailbot.types import Attachment

CRLF = compat32.clone(linesep="\r\n")


def test_the_one_line_shortcut_folds_exactly_as_compat32():
    rng = random.Random(19)
    alphabet = string.ascii_letters + string.digits + string.punctuation + "    \t"
    values = ["", " ", "a  b", " lead", "trail ", "x\ty", "=?utf-8?q?x?=", "a\x0bb"]
    values += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120))) for _ in range(5000)
    ]
    values.append("<" + "r" * 60 + "@comune.example.it> <" + "s" * 60 + "@comune.example.it>")
    for name in ("Subject", "Content-Type", "References", "X-Mailbot-Case"):
        for value in values:
            assert _fold(name, value) == CRLF.fold(name, value), (name, value)
        header = Header("Pratica n. 2026/000123 — è arrivata", _UTF8, header_name=name)
        assert _fold(name, header) == CRLF.fold(name, header)


def test_composed_bytes_read_back_as_what_was_composed():
    raw = mime_bytes(
        [
            ("From", "Comune <suggerimenti@comune.example.it>"),
            ("To", "niccolo@example.org"),
            ("Subject", "Conferma: la sua segnalazione è stata registrata [Pratica 2026/000007]"),
            ("Message-ID", "<m.1@comune.example.it>"),
        ],
        "Gentile Niccolò,\nla pratica è aperta.\n",
        "<p>Gentile Niccolò,</p>",
        [Attachment("foto buca.jpg", "image/jpeg", b"\xff\xd8" + bytes(range(256)) * 40)],
    )
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = email.message_from_bytes(raw)
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Conferma: la sua segnalazione è stata registrata [Pratica 2026/000007]"
    assert message["From"] == "Comune <suggerimenti@comune.example.it>"
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "image/jpeg"]
    text = parts[0].get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    assert text == "Gentile Niccolò,\nla pratica è aperta.\n"
    assert parts[2].get_filename() == "foto buca.jpg"
    assert parts[2].get_payload(decode=True) == b"\xff\xd8" + bytes(range(256)) * 40
