"""Raw bytes → `ParsedMessage`: the only importer of mail-parser.

Takes what a case needs: decoded subject and addresses, threading headers, the text body (HTML
converted to text when there is no text part), the HTML body sanitised with nh3 (no scripts,
styles, event handlers or remote images) and attachments. Anything mail-parser cannot make sense
of becomes a `MailError` naming the problem, so the message is kept and rejected.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import quopri
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import getaddresses
from typing import Any

import mailparser
import nh3
from charset_normalizer import from_bytes

from mailbot.errors import MailError
from mailbot.ingest import limits
from mailbot.ingest.html_text import html_text
from mailbot.types import Address, Attachment, ParsedMessage, normalise_address

_MSGID = re.compile(r"<[^<>\s]+>")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")
_EMBEDDED_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ESCAPED_BYTE = re.compile(r"\\u(dc[89a-f][0-9a-f])", re.IGNORECASE)
_DETECT_FROM = 200  # bytes
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
# Headers classification and threading read; kept lower-cased, first value only.
_KEPT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "reply-to",
    "x-mailbot-loop",
    "content-type",
    "x-failed-recipients",
    "x-delivery-agent",
    "feedback-type",
)
# Families of headers classification looks for by prefix (challenge-response robots, the
# Notes mailer, list software).
_KEPT_PREFIXES = ("x-boxbe", "x-tmda", "x-choicemail", "x-spamarrest", "x-challenge",
                  "x-mailblocks", "x-bluebottle", "x-mailer", "x-mimetrack", "x-mailman-version",
                  "x-google-group-id", "x-list-administrivia", "x-beenthere", "x-sympa",
                  "x-loop")  # fmt: skip

# mail-parser logs every recoverable defect at WARNING; we record defects ourselves.
logging.getLogger("mailparser").setLevel(logging.ERROR)


def parse(raw: bytes) -> ParsedMessage:
    trimmed = limits.trim_bodies(raw)
    try:
        mail = mailparser.parse_from_bytes(trimmed.raw)
    except Exception as exc:  # mail-parser raises many kinds on broken MIME
        raise MailError(f"unparseable message: {type(exc).__name__}: {exc}") from exc
    headers = _headers(mail.headers)
    senders = _addresses(mail.from_)
    sender = _first(senders) or _fallback_sender(_raw_header(mail, "From"))
    html = "\n".join(part for part in mail.text_html if part.strip())
    text = _body_text(mail)
    return ParsedMessage(
        message_id=_first_msgid(headers.get("message-id", "")),
        subject=limits.cap(header_text(mail.subject or ""), limits.MAX_SUBJECT),
        sender=sender,
        to=tuple(_addresses(mail.to)),
        cc=tuple(_addresses(mail.cc)),
        date=mail.date if isinstance(mail.date, datetime) and mail.date.tzinfo else None,
        in_reply_to=_first_msgid(headers.get("in-reply-to", "")),
        references=tuple(_MSGID.findall(headers.get("references", ""))),
        text=_noted(limits.cap_body(text), trimmed.cut),
        html=sanitise_html(limits.cap_body(html)),
        other_from=tuple(a.email for a in senders[1:6]),
        name_address=_name_address(sender),
        attachments=(*_attachments(mail.attachments), *map(_lifted, trimmed.lifted)),
        headers={
            k: v for k, v in headers.items() if k in _KEPT_HEADERS or k.startswith(_KEPT_PREFIXES)
        },
        auth_results=tuple(str(v) for v in mail.message.get_all("Authentication-Results") or ()),
        content_types=tuple(part.get_content_type() for part in mail.message.walk())[:200],
    )


def _headers(raw_headers: dict[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in raw_headers.items():
        first = value[0] if isinstance(value, list) and value else value
        result.setdefault(name.lower(), str(first))
    return result


def _clean(text: str) -> str:
    return " ".join(text.split())


def _first_msgid(value: str) -> str | None:
    found = _MSGID.search(value)
    return found.group(0) if found else None


def _addresses(pairs: Iterable[Any]) -> list[Address]:
    result = []
    for pair in pairs or ():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            continue
        name, email = str(pair[0]), normalise_address(str(pair[1]))
        if "@" not in email:
            # mail-parser keeps unparsable values as they are; try the stdlib's reading once.
            parsed = _lenient_addresses(email)
            email = normalise_address(parsed[0][1]) if parsed else ""
        if email.count("@") == 1 and not any(ch.isspace() for ch in email):
            result.append(Address(name=limits.cap(header_text(name), limits.MAX_NAME), email=email))
    return result


def _noted(text: str, cut: bool) -> str:
    return text + limits.TRUNCATED_NOTE if cut and limits.TRUNCATED_NOTE not in text else text


def _name_address(sender: Address | None) -> str:
    """An address in the display name that is not the sender's ("Maria Rossi
    <maria.rossi@…>" <attacker@…>): what a reader would take for the sender."""
    if sender is None:
        return ""
    shown = sorted({normalise_address(a) for a in _EMBEDDED_ADDRESS.findall(sender.name)})
    return next((a for a in shown if a != sender.email), "")


def header_text(value: str) -> str:
    """A header value fit to show and to write back into mail: raw 8-bit bytes decoded (UTF-8,
    else what charset-normalizer finds, else Windows-1252), encoded words that the parser left
    raw decoded, control and invisible formatting characters (CR/LF, bidi overrides,
    zero-width) gone, blanks folded. Never a surrogate, never a raw encoded word."""
    if "\\udc" in value:  # mail-parser writes undecodable bytes as the text "\udcf2"
        value = _ESCAPED_BYTE.sub(lambda m: chr(int(m.group(1), 16)), value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = _decode_8bit(value.encode("utf-8", "surrogateescape"))
    if "=?" in value:
        with contextlib.suppress(ValueError, LookupError, UnicodeError, HeaderParseError):
            value = str(make_header(decode_header(" ".join(value.split()))))
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            value = _decode_8bit(value.encode("utf-8", "surrogateescape"))
    shown = "".join(ch if ch.isprintable() else " " for ch in value)
    return _clean(_ENCODED_WORD.sub("", shown) if "=?" in shown else shown)


def _decode_8bit(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # A detector needs text to judge; a name or a subject is too short for one, and
    # Windows-1252 is what undeclared 8-bit mail in Italian almost always is.
    best = from_bytes(data).best() if len(data) >= _DETECT_FROM else None
    if best is not None:
        return str(best)
    return data.decode("cp1252", "replace")


def _first(addresses: list[Address]) -> Address | None:
    return addresses[0] if addresses else None


def _body_text(mail: Any) -> str:
    plain = [part for part in mail.text_plain if part.strip()]
    if plain:
        return "\n\n".join(part.strip() for part in plain)
    html = [part for part in mail.text_html if part.strip()]
    return "\n\n".join(html_text(limits.cap_body(part)).strip() for part in html)


def _attachments(items: Iterable[dict[str, Any]]) -> Iterable[Attachment]:
    for item in items:
        payload = item.get("payload") or ""
        if item.get("binary"):
            try:
                data = base64.b64decode(payload)
            except (binascii.Error, ValueError):
                data = payload.encode("ascii", "replace")
        else:
            data = _encode(payload, item.get("charset") or "utf-8")
        name = _safe_name(item.get("filename") or "")
        disposition = (item.get("content-disposition") or "").lower()
        yield Attachment(
            filename=name,  # whole: judged whole by the policy, then cut
            content_type=(item.get("mail_content_type") or "application/octet-stream")[:255],
            payload=data,
            inline=bool(item.get("content-id")) and not disposition.startswith("attachment"),
        )


def _lifted(part: tuple[bytes, bytes]) -> Attachment:
    """A large attachment the parser never saw, decoded from its part's bytes (one copy)."""
    head, body = part
    headers = BytesHeaderParser(policy=default).parsebytes(head.lstrip(b"\r\n") + b"\r\n\r\n")
    encoding = str(headers.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        data = _base64_lenient(body)
    elif encoding == "quoted-printable":
        data = quopri.decodestring(body)
    else:
        data = body.removesuffix(b"\r\n").removesuffix(b"\n")
    return Attachment(
        filename=_safe_name(header_text(headers.get_filename() or "")),
        content_type=headers.get_content_type()[:255],
        payload=data,
        inline=bool(headers.get("Content-ID"))
        and not str(headers.get("Content-Disposition", "")).lower().startswith("attachment"),
    )


def _base64_lenient(body: bytes) -> bytes:
    """Line breaks and junk are skipped; a body cut short (the head of an oversized message,
    a broken sender) gives what its whole groups of four hold, not an error."""
    try:
        return base64.b64decode(body)
    except binascii.Error:
        clean = _NOT_BASE64.sub(b"", body.split(b"=", 1)[0])
        return base64.b64decode(clean[: len(clean) // 4 * 4])


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset, "replace")
    except LookupError:  # an unknown charset name in the part's headers
        return text.encode("utf-8")


def sanitise_html(html: str) -> str:
    """HTML an operator can open safely: scripts, styles, handlers and remote images removed."""
    if not html:
        return ""
    if limits.too_deep(html):  # the sanitiser's time grows with the square of the nesting
        return limits.flat_html(html)
    tags = nh3.ALLOWED_TAGS - {"img"}
    return str(nh3.clean(html, tags=tags, link_rel="noopener noreferrer nofollow"))


def _safe_name(name: str) -> str:
    """A display name only: no directories, no control characters. Bytes are stored by hash,
    so a name never becomes a path; this keeps it harmless when shown or attached again."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    # Windows drops trailing dots and blanks: "fattura.exe. " is fattura.exe.
    return _clean(base).rstrip(". ") or "allegato"


def _fallback_sender(value: str) -> Address | None:
    """mail-parser gives up on some From lines (an encoded name holding "<" or ">"); the
    address is still there: read it with the standard library."""
    pairs = _lenient_addresses(value)
    if not pairs:
        return None
    name, address = pairs[-1]
    address = normalise_address(address)
    if address.count("@") != 1 or any(ch.isspace() for ch in address):
        return None
    return Address(name=limits.cap(header_text(name), limits.MAX_NAME), email=address)


def _lenient_addresses(value: str) -> list[tuple[str, str]]:
    """The standard library's reading of an address header, leniently: since the fix for
    CVE-2023-27043 (Python 3.11.10, 3.12.6, and backported to Debian's 3.11.2) it is strict by
    default and gives ('', '') for a malformed line, where the address is still plain to see
    (an encoded name with "<" in it). Who sent a mail is judged by DMARC/DKIM/SPF and PEC, not
    by this parse, so the lenient reading costs nothing and keeps the case."""
    try:
        return getaddresses([value], strict=False)
    except TypeError:  # a Python from before the strict parameter
        return getaddresses([value])


def _raw_header(mail: Any, name: str) -> str:
    message = getattr(mail, "message", None)
    value = message.get(name) if message is not None else None
    return str(value) if value is not None else ""
