"""What each letter to a citizen holds: the confirmation, the operator's relayed answer, and
mailbot's own notices (an extension, the closing letter), each with what the charter asks a
letter to say of the office. Messages to the office are `OfficeMessages`' (office_mail.py);
rendering, headers and encoding are `Renderer`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from mailbot.config import OfficeSettings
from mailbot.replies.office_mail import OfficeMessages
from mailbot.replies.render import Composed
from mailbot.types import Address, Attachment


def _megabytes(size: int) -> int | float:
    """25 MB, not 25.0 MB; 0.5 MB stays 0.5."""
    value = round(size / 1024 / 1024, 1)
    return int(value) if value.is_integer() else value


CITIZEN_KINDS = ("extension", "closing")  # written by mailbot to the citizen, via `to_citizen`
OFFICE_REPORT_KINDS = ("digest", "escalation")  # about an office's cases, via `office_report`


class Composer(OfficeMessages):
    def _office_values(self, office: OfficeSettings) -> dict[str, Any]:
        """What every letter to a citizen says of who answers for the office (the charter)."""
        charter = self.settings.charter
        return {
            "responsible": office.responsible,
            "office_phone": office.phone,
            "privacy_notice": charter.privacy_notice,
            "redress": charter.redress,
        }

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
        incomplete: bool = False,
        from_address: str | None = None,
    ) -> Composed:
        """`incomplete`: the sender gave no name and the charter wants one; they are asked for
        it, and told the term runs from their answer."""
        values = {
            **self._office_values(office),
            "incomplete": incomplete,
            "refused": list(refused),
            "oversized": oversized,
            "max_message_mb": _megabytes(self.settings.limits.max_message_bytes),
            "max_mb": _megabytes(self.settings.limits.max_attachment_bytes),
            "number": number,
            "citizen_name": citizen.name,
            "subject": subject,
            "received_at": received_at,
            "due_at": due_at,
            # Back-dated (entered after the term): no promise of a day already gone.
            "term_passed": due_at <= datetime.now(UTC),
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
            auto_submitted="auto-replied",
            from_address=from_address,
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
            **self._office_values(office),
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
            from_address=from_address,
            cc=office.copy_to,  # the URP, when the office keeps it informed
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
            **self._office_values(office),
            "number": number,
            "subject": subject,
            "citizen_name": citizen.name,
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
            from_address=from_address,
        )
