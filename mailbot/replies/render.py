"""Jinja2 templates to messages: the only importer of jinja2.

Templates live in `templates/<language>/` (Italian by default, English available), one
`.subject.j2`, `.txt.j2` and `.html.j2` per message kind; the config key `templates_path`
points at a customised copy. Every message carries our signed Message-ID, threading headers
to the citizen's mail, `Auto-Submitted` and our loop header, so no machine answers it.
`Renderer` does that once for every kind; `compose.Composer` says what each kind holds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address as HeaderAddress
from email.utils import format_datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)

from mailbot.config import Settings
from mailbot.errors import ConfigError, MailError
from mailbot.replies.mime import address_header, mime_bytes
from mailbot.replies.threading import domain_of, make_message_id, tagged_subject
from mailbot.types import Address, Attachment

LOOP_HEADER = "X-Mailbot-Loop"
# An edited template is used within this many seconds; until then the one loaded is trusted
# without asking the file system (a stat per part was a tenth of composing, issue 32).
FRESH_SECONDS = 2.0
_now = time.monotonic  # the tests move it


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


class Renderer:
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
        self._loaded: dict[str, tuple[Template, float]] = {}

    def _template(self, name: str) -> Template:
        """The template, loaded again when its file changed (looked at every FRESH_SECONDS)."""
        now = _now()
        held = self._loaded.get(name)
        if held is not None and now - held[1] < FRESH_SECONDS:
            return held[0]
        template = self.env.get_template(name)  # Jinja's cache, or the file when it changed
        self._loaded[name] = (template, now)
        return template

    def _render(self, language: str, kind: str, part: str, values: dict[str, Any]) -> str:
        tz = self.tz

        def date(value: datetime | dt.date) -> str:  # a moment in local time, or a day
            return _local_date(_instant(value), language, tz)

        def when(value: datetime) -> str:
            return _local_datetime(_instant(value), language, tz)

        self.env.filters["date"] = date
        self.env.filters["datetime"] = when
        name = f"{language}/{kind}.{part}.j2"
        try:
            return self._template(name).render(**values)
        except TemplateError as exc:
            raise ConfigError(f"template {name}: {exc}") from exc

    def transcript_html(
        self, language: str, case: dict[str, Any], events: list[dict[str, Any]]
    ) -> str:
        """The case file as a page of its own (attached to the transcript, or written out)."""
        return self._render(language, "transcript", "html", {"case": case, "events": events})

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
        in_reply_to: str | None = None,
        references: tuple[str, ...] = (),
        attachments: Sequence[Attachment] = (),
        auto_submitted: str = "auto-generated",  # RFC 3834; "auto-replied" for an answer
        from_name: str | None = None,
        html: str | None = None,
        from_address: str | None = None,
        cc: Sequence[str] = (),
        message_id: str | None = None,
    ) -> Composed:
        """`from_address`: a mailbox's own account (a PEC box must send from its address);
        default [smtp]'s. `cc`: the copies (visible to every recipient). Never a Bcc or a
        read-receipt request: a PEC provider refuses both."""
        subject = self._render(language, kind, "subject", values).strip()
        if number:  # about a case: its tag; an office's digest has none
            subject = tagged_subject(number, subject)
        smtp = self.settings.smtp
        sender = from_address or smtp.from_address
        message_id = message_id or make_message_id(
            self.secret, number or kind, kind, domain_of(sender)
        )
        name = smtp.from_name if from_name is None else from_name
        try:  # refuse what is not an address before building anything
            checked = ((name, sender), (to.name, to.email), ("", reply_to), *(("", a) for a in cc))
            for display, address in checked:
                _check_address(display, address)
        except (ValueError, IndexError, HeaderParseError) as exc:
            raise MailError(f"cannot address a message to {to.email!r}: {exc}") from exc
        headers_out = [
            ("From", address_header(name, sender)),
            ("To", address_header(to.name, to.email)),
            *((("Cc", ", ".join(cc)),) if cc else ()),
            ("Reply-To", address_header(smtp.from_name, reply_to)),
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
            ("Auto-Submitted", auto_submitted),
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
            recipients=(to.email, *cc),
            raw=raw,
        )


@lru_cache(maxsize=4096)
def _check_address(display: str, address: str) -> None:
    """Raises ValueError (IndexError, HeaderParseError) for what is not an address; the
    institution's own addresses are in every letter, so each is checked once."""
    HeaderAddress(display, addr_spec=address)


def _instant(value: Any) -> Any:
    """The cache's key for a moment: in UTC, which has no `fold` (two local 02:30s on the night
    the clocks go back compare equal with it); a day or a naive value as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


@lru_cache(maxsize=4096)
def _local_date(value: datetime | dt.date, language: str, tz: dt.tzinfo) -> str:
    day = value.astimezone(tz) if isinstance(value, datetime) else value
    return str(format_date(day, format="long", locale=language))


@lru_cache(maxsize=4096)
def _local_datetime(value: datetime, language: str, tz: dt.tzinfo) -> str:
    local = value.astimezone(tz)
    return str(babel_datetime(local, format="d MMMM y, HH:mm", locale=language, tzinfo=tz))
