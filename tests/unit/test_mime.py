"""The wire bytes of what we send (replies/mime.py): folded as compat32 folds, and read back by
the standard library as the same text, HTML, names and attachments."""

from __future__ import annotations

import email
import random
import string
from email.header import decode_header, make_header
from email.policy import compat32, default

from mailbot.replies.mime import _encoded_words, _fold, mime_bytes
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


def test_a_non_ascii_field_is_encoded_words_that_decode_back_to_it():
    rng = random.Random(2047)
    alphabet = "aeiou àèéìòù ÀÈ€ “”—…\u2013ñßøå 中文件 😀👍🏽 \u0301_=?!*+-/" + string.ascii_letters
    values = ["è", " è ", "Niccolò Bianchi", "Re: Buca in via Mazzini — urgente! [Pratica 2026/7]"]
    values += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))) for _ in range(2000)
    ]
    for name in ("Subject", "X-Mailbot-Office-Name"):  # unstructured: read back as they are
        for value in values:
            if value.isascii():
                continue
            folded = _fold(name, _encoded_words(name, value))
            lines = folded.removesuffix("\r\n").split("\r\n")
            assert folded.isascii() and all(len(line) <= 78 for line in lines), folded
            assert all(line.startswith(" ") for line in lines[1:])
            words = folded.removeprefix(f"{name}: ").split()
            assert all(len(w) <= 75 and w.startswith("=?utf-8?q?") for w in words)
            assert str(make_header(decode_header(folded.removeprefix(f"{name}: ")))) == value
            message = email.message_from_string(folded + "\r\n", policy=default)
            assert message[name] == value


def test_composed_bytes_read_back_as_what_was_composed():
    raw = mime_bytes(
        [
            ("From", "Comune <suggerimenti@comune.example.it>"),
            ("To", "Niccolò Bianchi <niccolo@example.org>"),
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
    assert str(make_header(decode_header(message["To"]))) == "Niccolò Bianchi <niccolo@example.org>"
    parts = [p for p in message.walk() if not p.is_multipart()]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "image/jpeg"]
    text = parts[0].get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")
    assert text == "Gentile Niccolò,\nla pratica è aperta.\n"
    assert parts[2].get_filename() == "foto buca.jpg"
    assert parts[2].get_payload(decode=True) == b"\xff\xd8" + bytes(range(256)) * 40
