"""Wire bytes of a message we send: text and HTML alternatives, then attachments, CRLF.

Composition uses the compat32 `email.mime` classes rather than `EmailMessage` and
`policy.SMTP`: the same structure and encodings (text quoted-printable, attachments base64,
RFC 2047 names and subjects, RFC 2231 file names, CRLF), built in about a seventh of the
time, which was the largest cost of filing a message (bench/README.md).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from io import BytesIO

from mailbot.types import Attachment

_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP


_CRLF = compat32.clone(linesep="\r\n")


def address_header(name: str, address: str) -> str:
    return formataddr((name, address), charset=_UTF8) if name else address


class _Bodies:
    """Leaf bodies, already encoded, kept out of the generator: it would walk them line by
    line in Python (several ms for a long text, ~10 ms for a 2 MB attachment). It writes a
    placeholder instead, swapped for the CRLF wire bytes afterwards."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        self.wire: dict[bytes, bytes] = {}

    def defer(self, part: Message, wire: bytes) -> None:
        placeholder = f"mailbot-body-{len(self.wire)}-{self.token}"
        part.set_payload(placeholder)
        self.wire[placeholder.encode()] = wire

    def text(self, value: str, subtype: str) -> Message:
        part = MIMEText(value, subtype, _UTF8)  # type: ignore[arg-type]  # a Charset works
        del part["MIME-Version"]
        encoded = str(part.get_payload())  # quoted-printable, LF line ends
        self.defer(part, encoded.replace("\n", "\r\n").encode("ascii"))
        return part

    def fill(self, flat: bytes) -> bytes:
        for marker, body in self.wire.items():
            flat = flat.replace(marker, body, 1)
        return flat


def mime_bytes(
    headers: Sequence[tuple[str, str]], text: str, html: str, attachments: Sequence[Attachment]
) -> bytes:
    """text + HTML alternatives, then the attachments, as wire bytes with CRLF."""
    bodies = _Bodies()
    alternative = MIMEMultipart(
        "alternative", _subparts=[bodies.text(text, "plain"), bodies.text(html, "html")]
    )
    root: Message = alternative
    if attachments:
        del alternative["MIME-Version"]
        root = MIMEMultipart("mixed", _subparts=[alternative])
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            if maintype == "message":
                # Originals go as opaque .eml files: byte-exact evidence, never re-encoded.
                maintype, subtype = "application", "octet-stream"
            part = MIMEBase(maintype or "application", subtype or "octet-stream")
            del part["MIME-Version"]
            bodies.defer(part, _base64_crlf(attachment.payload))
            part["Content-Transfer-Encoding"] = "base64"
            name = attachment.filename
            part.add_header(
                "Content-Disposition",
                "attachment",
                filename=name if name.isascii() else ("utf-8", "", name),
            )
            root.attach(part)
    content_type = root["Content-Type"]  # ours first, as a reader expects them
    del root["MIME-Version"], root["Content-Type"]
    for header, value in headers:
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {header} contains a line break")
        root[header] = value if value.isascii() else Header(value, _UTF8, header_name=header)  # type: ignore[assignment]
    root["MIME-Version"] = "1.0"
    root["Content-Type"] = content_type
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_CRLF).flatten(root)
    return bodies.fill(out.getvalue())


def _base64_crlf(payload: bytes) -> bytes:
    """Base64 in 76-character lines joined by CRLF, without the final line break (the
    generator adds it after the placeholder)."""
    encoded = base64.b64encode(payload)  # one C call; encodebytes loops per 57 bytes
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
