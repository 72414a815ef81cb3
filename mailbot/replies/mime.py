"""Wire bytes of a message we send: text and HTML alternatives, then attachments, CRLF.

Composition uses the compat32 `email.mime` classes rather than `EmailMessage` and
`policy.SMTP`: the same structure and encodings (text quoted-printable, attachments base64,
RFC 2047 names and subjects, RFC 2231 file names, CRLF), built in about a seventh of the
time, which was the largest cost of filing a message (bench/README.md).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from email.charset import QP, Charset
from email.message import Message
from email.policy import compat32
from email.utils import formataddr

from mailbot.types import Attachment

_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP  # display names (formataddr)


_CRLF = compat32.clone(linesep="\r\n")


def address_header(name: str, address: str) -> str:
    return formataddr((name, address), charset=_UTF8) if name else address


def mime_bytes(
    headers: Sequence[tuple[str, str]], text: str, html: str, attachments: Sequence[Attachment]
) -> bytes:
    """text + HTML alternatives, then the attachments, as wire bytes with CRLF."""
    alternative = _multipart("alternative", [_text_part(text, "plain"), _text_part(html, "html")])
    root = alternative
    if attachments:
        root = _multipart(
            "mixed", [_part(alternative[0], alternative[1])] + [_attachment(a) for a in attachments]
        )
    fields: _Fields = []
    for header, value in headers:
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {header} contains a line break")
        fields.append((header, value if value.isascii() else _encoded_words(header, value)))
    fields.append(("MIME-Version", "1.0"))
    fields.extend(root[0])
    return _part(fields, root[1])


_Fields = list[tuple[str, str]]


class _Folded(str):
    """A field value already folded into lines (encoded words), written as it is."""


def _part(fields: _Fields, body: bytes) -> bytes:
    """A header block folded as the compat32 generator folds it, a blank line, the body."""
    folded = "".join(_fold(name, value) for name, value in fields)
    return folded.encode("ascii") + b"\r\n" + body


_FOLD_AT = 78  # compat32's max_line_length


def _fold(name: str, value: str) -> str:
    """A printable ASCII field that fits on one line comes out of compat32's folding as it went
    in (tests/unit/test_mime.py checks it), without the ~10-40 us of its `Header` pass."""
    if isinstance(value, _Folded) or (
        len(name) + 2 + len(value) <= _FOLD_AT and value.isascii() and value.isprintable()
    ):
        return f"{name}: {value}\r\n"
    return _CRLF.fold(name, value)


# RFC 2047 "Q": letters, digits and !*+-/ as they are, a space as "_", any other byte as =XX.
_Q = [
    chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "!*+-/") else f"={b:02X}"
    for b in range(256)
]
_Q[0x20] = "_"
_WORD_START, _WORD_END = "=?utf-8?q?", "?="
_LONGEST_WORD = 75  # RFC 2047: an encoded word is at most 75 characters


def _encoded_words(name: str, value: str) -> _Folded:
    """A non-ASCII field as UTF-8 Q encoded words, folded to lines of at most 78 characters,
    never splitting a character. email.header did the same in ~0.8 ms for a 100-character
    subject (it measured the line again after each character); this is linear."""
    chrome = len(_WORD_START) + len(_WORD_END)
    room = min(_FOLD_AT - len(name) - 2, _LONGEST_WORD) - chrome  # the first line
    words: list[str] = []
    current: list[str] = []
    used = 0
    for character in value:
        encoded = "".join(_Q[b] for b in character.encode("utf-8"))
        if used + len(encoded) > room and current:
            words.append(_WORD_START + "".join(current) + _WORD_END)
            current, used = [], 0
            room = min(_FOLD_AT - 1, _LONGEST_WORD) - chrome  # a continuation line: " " first
        current.append(encoded)
        used += len(encoded)
    words.append(_WORD_START + "".join(current) + _WORD_END)
    return _Folded("\r\n ".join(words))


def _multipart(subtype: str, parts: Sequence[bytes]) -> tuple[_Fields, bytes]:
    boundary = f"==============={secrets.randbelow(10**19):019d}=="
    # Neither quoted-printable nor base64 can hold "===": the boundary needs no search.
    dash = f"--{boundary}".encode("ascii")
    body = dash + b"\r\n" + (b"\r\n" + dash + b"\r\n").join(parts) + b"\r\n" + dash + b"--\r\n"
    return [("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')], body


def _text_part(value: str, subtype: str) -> bytes:
    """Quoted-printable UTF-8 (binascii's encoder, in C), CRLF line ends."""
    data = value.replace("\r\n", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True).replace(b"\n", b"\r\n")
    fields: _Fields = [
        ("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    return _part(fields, encoded)


def _attachment(attachment: Attachment) -> bytes:
    maintype, _, subtype = attachment.content_type.partition("/")
    if maintype == "message":
        # Originals go as opaque .eml files: byte-exact evidence, never re-encoded.
        maintype, subtype = "application", "octet-stream"
    name = attachment.filename
    disposition = Message()
    disposition.add_header(
        "Content-Disposition",
        "attachment",
        filename=name if name.isascii() else ("utf-8", "", name),
    )
    fields: _Fields = [
        ("Content-Type", f"{maintype or 'application'}/{subtype or 'octet-stream'}"),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Disposition", disposition["Content-Disposition"]),
    ]
    return _part(fields, _base64_crlf(attachment.payload))


def _base64_crlf(payload: bytes) -> bytes:
    """Base64 in 76-character lines joined by CRLF, without the final line break (the
    generator adds it after the placeholder)."""
    encoded = base64.b64encode(payload)  # one C call; encodebytes loops per 57 bytes
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
