"""Messages we send, rendered from Jinja2 templates: the only importer of jinja2.

Templates live in `templates/<language>/` (Italian by default, English available), one
`.subject.j2`, `.txt.j2` and `.html.j2` per message kind; the config key `templates_path`
points at a customised copy. Every message carries our signed Message-ID, threading headers
to the citizen's mail, `Auto-Submitted` and our loop header, so no machine answers it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address as HeaderAddress
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr
from importlib import resources
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape

from mailbot.config import OfficeSettings, Settings
from mailbot.errors import ConfigError, MailError
from mailbot.replies.threading import domain_of, make_message_id, tagged_subject
from mailbot.types import Address, Attachment

LOOP_HEADER = "X-Mailbot-Loop"

# Composition uses the compat32 `email.mime` classes rather than `EmailMessage` and
# `policy.SMTP`: the same structure and encodings (text quoted-printable, attachments base64,
# RFC 2047 names and subjects, RFC 2231 file names, CRLF), built in about a seventh of the
# time, which was the largest cost of filing a message (bench/README.md).
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_UTF8.header_encoding = QP
_CRLF = compat32.clone(linesep="\r\n")


_YOUR_NAME = {"it": "il vostro nome", "en": "your name"}


def _megabytes(size: int) -> int | float:
    """25 MB, not 25.0 MB; 0.5 MB stays 0.5."""
    value = round(size / 1024 / 1024, 1)
    return int(value) if value.is_integer() else value


def _address(name: str, address: str) -> str:
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


def templates_root(settings: Settings) -> Path:
    """Configured path, else the copy packaged in the wheel, else the source tree's."""
    if settings.templates_path is not None:
        return settings.templates_path
    packaged = Path(str(resources.files("mailbot") / "_templates"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class Composed:
    message_id: str
    subject: str
    text: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes


CITIZEN_KINDS = ("extension", "closing")  # written by mailbot to the citizen, via `to_citizen`
OFFICE_REPORT_KINDS = ("digest", "escalation")  # about an office's cases, via `office_report`


class Composer:
    def __init__(self, settings: Settings, secret: bytes) -> None:
        root = templates_root(settings)
        if not root.is_dir():
            raise ConfigError(f"templates_path: {root} is not a directory")
        self.settings = settings
        self.secret = secret
        self.tz = settings.timezone
        self.env = Environment(
            loader=FileSystemLoader(str(root)),
            autoescape=select_autoescape(["html", "html.j2"]),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def _render(self, language: str, kind: str, part: str, values: dict[str, Any]) -> str:
        def date(value: datetime) -> str:
            return str(format_date(value.astimezone(self.tz), format="long", locale=language))

        def when(value: datetime) -> str:
            local = value.astimezone(self.tz)
            return str(
                babel_datetime(local, format="d MMMM y, HH:mm", locale=language, tzinfo=self.tz)
            )

        self.env.filters["date"] = date
        self.env.filters["datetime"] = when
        name = f"{language}/{kind}.{part}.j2"
        try:
            return self.env.get_template(name).render(**values)
        except TemplateError as exc:
            raise ConfigError(f"template {name}: {exc}") from exc

    def confirmation(
        self,
        *,
        number: str,
        language: str,
        citizen: Address,
        subject: str,
        received_at: datetime,
        due_at: datetime,
        office: OfficeSettings,
        reply_to: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        refused: Sequence[tuple[str, str]] = (),
        oversized: bool = False,
        from_address: str | None = None,
    ) -> Composed:
        values = {
            "refused": list(refused),
            "oversized": oversized,
            "max_message_mb": _megabytes(self.settings.limits.max_message_bytes),
            "max_mb": _megabytes(self.settings.limits.max_attachment_bytes),
            "number": number,
            "citizen_name": citizen.name,
            "subject": subject,
            "received_at": received_at,
            "due_at": due_at,
            "office_name": office.name,
            "response_days": office.response_days,
            "institution": self.institution,
        }
        return self._compose(
            "confirmation",
            number,
            language,
            values,
            to=citizen,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            references=references,
            headers={"Auto-Submitted": "auto-replied"},
            from_address=from_address,
        )

    def to_office(
        self,
        kind: str,  # "notification" or "forward"
        *,
        number: str,
        language: str,
        office: OfficeSettings,
        values: dict[str, Any],
        reply_to: str,
        attachments: Sequence[Attachment] = (),
        references: tuple[str, ...] = (),
    ) -> Composed:
        """The case's message for the office, with what is needed to answer it by email."""
        full = {
            **values,
            "number": number,
            "office_name": office.name,
            "response_days": office.response_days,
            # How the citizen sees the answer: the operator's own name (from their mail
            # client) and the office; the name is the reader's, so it is not made up here.
            "sender_example": self.settings.conversations.sender_format.format(
                operator=_YOUR_NAME.get(language, _YOUR_NAME["en"]), office=office.name
            ),
            "attachments": [a.filename for a in attachments],
        }
        return self._compose(
            kind,
            number,
            language,
            full,
            to=Address(office.name, office.email),
            reply_to=reply_to,
            in_reply_to=references[-1] if references else None,
            references=references[:-1],
            attachments=attachments,
            headers={"Auto-Submitted": "auto-generated"},
        )

    def relay(
        self,
        *,
        number: str,
        language: str,
        citizen: Address,
        subject: str,
        body: str,
        operator_name: str,
        office: OfficeSettings,
        reply_to: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        attachments: Sequence[Attachment] = (),
        from_address: str | None = None,
    ) -> Composed:
        """An operator's answer, sent to the citizen from the mailbox, never from the operator."""
        sender_name = (  # no name known (a CLI reply): the office alone, not "URP — URP"
            self.settings.conversations.sender_format.format(
                operator=operator_name, office=office.name
            )
            if operator_name
            else office.name
        )
        values = {
            "number": number,
            "subject": subject,
            "body": body,
            "sender_name": sender_name,
            "institution": self.institution,
        }
        return self._compose(
            "relay",
            number,
            language,
            values,
            to=citizen,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            references=references,
            attachments=attachments,
            from_name=sender_name,
            headers={"Auto-Submitted": "auto-generated"},  # relayed by a machine: no OOO back
            from_address=from_address,
        )

    def to_citizen(
        self,
        kind: str,
        *,
        number: str,
        language: str,
        citizen: Address,
        subject: str,
        office: OfficeSettings,
        values: dict[str, Any],
        reply_to: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        from_address: str | None = None,
    ) -> Composed:
        """A message mailbot writes to the citizen for the office (an extension notice, the
        closing message): signed by the office, from the mailbox."""
        full = {
            "number": number,
            "subject": subject,
            "office_name": office.name,
            "institution": self.institution,
            **values,
        }
        return self._compose(
            kind,
            number,
            language,
            full,
            to=citizen,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            references=references,
            from_name=office.name,
            headers={"Auto-Submitted": "auto-generated"},
            from_address=from_address,
        )

    def office_report(
        self,
        kind: str,
        *,
        language: str,
        office: OfficeSettings,
        to: Address,
        values: dict[str, Any],
    ) -> Composed:
        """A message about an office's cases as a whole (the daily digest, the escalation to
        its manager): no case tag, and replies go to the office, not into the mailbox."""
        full = {"office_name": office.name, "institution": self.institution, **values}
        return self._compose(
            kind,
            "",
            language,
            full,
            to=to,
            reply_to=office.email,
            in_reply_to=None,
            references=(),
            headers={"Auto-Submitted": "auto-generated"},
        )

    def operator_notice(
        self,
        *,
        number: str,
        language: str,
        operator: Address,
        subject: str,
        errors: Sequence[str],
        reply_to: str,
        in_reply_to: str | None,
    ) -> Composed:
        values = {
            "number": number,
            "subject": subject,
            "errors": list(errors),
            "offices": sorted(self.settings.offices),
        }
        return self._compose(
            "operator_notice",
            number,
            language,
            values,
            to=operator,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            references=(),
            headers={"Auto-Submitted": "auto-replied"},
        )

    def transcript_html(
        self, language: str, case: dict[str, Any], events: list[dict[str, Any]]
    ) -> str:
        return self._render(language, "transcript", "html", {"case": case, "events": events})

    def transcript(
        self,
        *,
        language: str,
        case: dict[str, Any],
        events: list[dict[str, Any]],
        originals: Sequence[tuple[str, bytes]],
        to: str,
    ) -> Composed:
        """The case file as one email: the summary attached as HTML, each original as .eml."""
        html = self.transcript_html(language, case, events)
        attachments = [
            Attachment(
                f"pratica-{case['number'].replace('/', '-')}.html", "text/html", html.encode()
            ),
            *(Attachment(name, "message/rfc822", raw) for name, raw in originals),
        ]
        values = {"case": case}
        return self._compose(
            "transcript",
            case["number"],
            language,
            values,
            to=Address("", to),
            reply_to=self.settings.smtp.from_address,
            in_reply_to=None,
            references=(),
            attachments=attachments,
            headers={"Auto-Submitted": "auto-generated"},
            html=html,
        )

    def bounce_notice(
        self,
        *,
        number: str,
        language: str,
        office: OfficeSettings,
        subject: str,
        kind: str,
        sent_at: datetime,
        recipients: Sequence[Any],
        reply_to: str,
    ) -> Composed:
        """Tells the office that a message of the case did not reach its recipient."""
        values = {
            "number": number,
            "subject": subject,
            "kind": kind,
            "sent_at": sent_at,
            "recipients": list(recipients),
        }
        return self._compose(
            "bounce_notice",
            number,
            language,
            values,
            to=Address(office.name, office.email),
            reply_to=reply_to,
            in_reply_to=None,
            references=(),
            headers={"Auto-Submitted": "auto-generated"},
        )

    @property
    def institution(self) -> str:
        return self.settings.smtp.from_name or self.settings.smtp.from_address

    def _compose(
        self,
        kind: str,
        number: str,
        language: str,
        values: dict[str, Any],
        *,
        to: Address,
        reply_to: str,
        in_reply_to: str | None,
        references: tuple[str, ...],
        attachments: Sequence[Attachment] = (),
        headers: dict[str, str] | None = None,
        from_name: str | None = None,
        html: str | None = None,
        from_address: str | None = None,
    ) -> Composed:
        """`from_address`: a mailbox's own account (a PEC box must send from its address);
        default [smtp]'s. Never a Bcc or a read-receipt request: a PEC provider refuses both."""
        subject = self._render(language, kind, "subject", values).strip()
        if number:  # about a case: its tag; an office's digest has none
            subject = tagged_subject(number, subject)
        smtp = self.settings.smtp
        sender = from_address or smtp.from_address
        message_id = make_message_id(self.secret, number or kind, kind, domain_of(sender))
        name = smtp.from_name if from_name is None else from_name
        try:  # refuse what is not an address before building anything
            for display, address in ((name, sender), (to.name, to.email), ("", reply_to)):
                HeaderAddress(display, addr_spec=address)
        except (ValueError, IndexError) as exc:
            raise MailError(f"cannot address a message to {to.email!r}: {exc}") from exc
        headers_out = [
            ("From", _address(name, sender)),
            ("To", _address(to.name, to.email)),
            ("Reply-To", _address(smtp.from_name, reply_to)),
            ("Subject", subject),
            ("Date", format_datetime(datetime.now(UTC).astimezone(self.tz))),
            ("Message-ID", message_id),
        ]
        if in_reply_to:
            chain = list(dict.fromkeys((*references, in_reply_to)))
            headers_out += [("In-Reply-To", in_reply_to), ("References", " ".join(chain[-20:]))]
        headers_out += [
            ("Content-Language", language),
            (LOOP_HEADER, domain_of(smtp.from_address)),  # the same for every account
            ("X-Auto-Response-Suppress", "All"),  # asks Exchange not to answer with OOO notes
            *(headers or {}).items(),
        ]
        text = self._render(language, kind, "txt", values)
        html_text = html or self._render(language, kind, "html", values)
        try:
            raw = mime_bytes(headers_out, text, html_text, attachments)
        except (ValueError, UnicodeError) as exc:
            raise MailError(f"cannot encode a message to {to.email!r}: {exc}") from exc
        return Composed(
            message_id=message_id,
            subject=subject,
            text=text,
            sender=sender,
            recipients=(to.email,),
            raw=raw,
        )
