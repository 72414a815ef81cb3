"""Messages we send to the office and its people: the case's notification and forwards, office
reports (the daily digest, the escalation), an operator's notice, the transcript of a case and
a bounce notice. `compose.Composer` adds the letters to citizens.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mailbot.config import OfficeSettings
from mailbot.replies import commands
from mailbot.replies.render import Composed, Renderer
from mailbot.types import Address, Attachment

_YOUR_NAME = {"it": "il vostro nome", "en": "your name"}
# What an operator's notice can say (templates/*/operator_notice.*): their message was refused
# (`errors`); their plain reply was recorded as the reasoned reply; the case was already closed;
# the case was voided; their mail named a case but answered nothing of ours; their reasoned
# reply to a regulated complaint was held for what it lacks (cases/reply_hold.py).
NOTICES = (
    "refused", "reasoned", "already_closed", "voided", "unthreaded", "not_relayed", "checks",
)  # fmt: skip


class OfficeMessages(Renderer):
    def to_office(
        self,
        kind: str,  # notification, forward, internal_note, approval, letter_ready
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
            # How the citizen sees the answer: the operator's own name (from their mail
            # client) and the office; the name is the reader's, so it is not made up here.
            "sender_example": self.settings.conversations.sender_format.format(
                operator=_YOUR_NAME.get(language, _YOUR_NAME["en"]), office=office.name
            ),
            "attachments": [a.filename for a in attachments],
            "commands": commands.help_lines(language),
            # The case's page in the back office ("" without one): a second door, the mail
            # stays the first.
            "case_url": self.settings.backoffice.case_url(number),
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
        notice: str = "refused",
        details: dict[str, Any] | None = None,
    ) -> Composed:
        """`notice`: what the operator is told (`NOTICES`); every notice lists the commands."""
        if notice not in NOTICES:
            raise ValueError(f"no operator notice {notice!r}")
        values = {
            "closed_at": None,
            "relayed": False,
            "void_reason": "",
            "office_name": "",
            "applied": [],
            "refused": [],
            "may_assign": False,
            "received_at": None,
            **(details or {}),
            "number": number,
            "subject": subject,
            "errors": list(errors),
            "offices": sorted(self.settings.offices),
            "notice": notice,
            "commands": commands.help_lines(language),
        }
        return self._compose(
            "operator_notice",
            number,
            language,
            values,
            to=operator,
            reply_to=reply_to,
            in_reply_to=in_reply_to,
            auto_submitted="auto-replied",
        )

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
            attachments=attachments,
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
        )

    def forward_external(
        self,
        *,
        number: str,
        language: str,
        to: Address,
        subject: str,
        body: str,
        office: OfficeSettings,
        received_at: datetime,
        reply_to: str,
        attachments: Sequence[Attachment] = (),
        from_address: str | None = None,
    ) -> Composed:
        """A case forwarded to a third party by a member of staff (cases/forwarding.py): the
        text, the case's number, the attachments; signed by the office, written by a person."""
        values = {
            "number": number,
            "subject": subject,
            "body": body,
            "office_name": office.name,
            "institution": self.institution,
            "received_at": received_at,
            "attachments": [a.filename for a in attachments],
        }
        return self._compose(
            "forward_external",
            number,
            language,
            values,
            to=to,
            reply_to=reply_to,
            attachments=attachments,
            auto_submitted="no",  # a person wrote it: the third party may answer
            from_name=office.name,
            from_address=from_address,
        )

    def sign_in(self, *, language: str, to: str, link: str, minutes: int) -> Composed:
        """A one-time link to the back office (backoffice/links.py) for a member's address."""
        values = {"link": link, "minutes": minutes, "institution": self.institution}
        return self._compose(
            "sign_in",
            "",
            language,
            values,
            to=Address("", to),
            reply_to=self.settings.smtp.from_address,
        )
