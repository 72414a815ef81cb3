"""What each letter to a citizen holds: the confirmation, the operator's relayed answer, and
mailbot's own notices (an extension, the closing letter), each with what the charter asks a
letter to say of the office. Messages to the office are `OfficeMessages`' (office_mail.py);
rendering, headers and encoding are `Renderer`'s.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from mailbot.config import OfficeSettings
from mailbot.replies.office_mail import OfficeMessages
from mailbot.replies.render import Composed
from mailbot.roles import Directory
from mailbot.types import Address, Attachment


def _megabytes(size: int) -> int | float:
    """25 MB, not 25.0 MB; 0.5 MB stays 0.5."""
    value = round(size / 1024 / 1024, 1)
    return int(value) if value.is_integer() else value


# How the address a confirmation goes to reached us, by channel. "delivered": the sender's own
# mail server delivered the mail (mail, PEC); "taken down": an operator took it down from the
# citizen (counter, post, fax, phone). "typed": whoever filled in the web form typed it and
# nobody has proved it is theirs, so the letter repeats nothing they chose but a short name:
# no subject, no text, no file names (the institution's address would carry a stranger's words
# to anyone). A channel not listed is "typed".
ADDRESS_SOURCE = {
    "email": "delivered",
    "pec": "delivered",
    "sportello": "taken down",
    "posta": "taken down",
    "fax": "taken down",
    "telefono": "taken down",
    "web": "typed",
}
PROVED = frozenset({"delivered", "taken down"})
SHORT_NAME = 40  # characters of a name an unproved confirmation may repeat
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*\.?")


def address_proved(channel: str) -> bool:
    return ADDRESS_SOURCE.get(channel, "typed") in PROVED


def short_name(name: str) -> str:
    """A name as a letter to an unproved address may repeat it: words of letters only (no
    digits, URLs, domains, line breaks or symbols), at most `SHORT_NAME` characters."""
    words: list[str] = []
    for word in unicodedata.normalize("NFKC", name).split():
        found = _NAME_WORD.fullmatch(word)
        if found is None:  # "evil.example", "https://…", "0612345", "<b>"
            continue
        if len(" ".join([*words, word])) > SHORT_NAME:
            break
        words.append(word)
    return " ".join(words)


def copies(office: OfficeSettings, staff: Directory, citizen: str = "") -> tuple[str, ...]:
    """Who gets a copy of the office's letters to a citizen (the reply, an extension, the
    closing letter): the office's `copy_to` (the URP) and every supervisor of the office whose
    role gets the copies; each once, never the citizen themselves."""
    found = [office.copy_to] if office.copy_to else []
    found += [m.address for m in staff.supervisors_of(office.id) if m.may("case.copies")]
    seen = {citizen.strip().lower()}
    kept: list[str] = []
    for address in found:
        if address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return tuple(kept)


def signer(office: OfficeSettings, staff: Directory) -> str:
    """Who the letters name as responsible for the office: its `responsible` text, else the
    named member who holds the office's responsible role (the Dirigente)."""
    if office.responsible:
        return office.responsible
    return next((m.name for m in staff.of_office(office.id, "responsible") if m.name), "")


CITIZEN_KINDS = ("extension", "closing")  # written by mailbot to the citizen, via `to_citizen`
OFFICE_REPORT_KINDS = ("digest", "escalation")  # about an office's cases, via `office_report`


class Composer(OfficeMessages):
    def _office_values(
        self, office: OfficeSettings, staff: Directory | None = None
    ) -> dict[str, Any]:
        """What every letter to a citizen says of who answers for the office (the charter).
        `staff`: the whole directory (cases/staff.py); default the configuration's members."""
        charter = self.settings.charter
        return {
            "responsible": signer(office, self.settings.directory if staff is None else staff),
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
        channel: str,
        protocollo: tuple[str, date] | None = None,
        message_id: str | None = None,
        term_days: int | None = None,
        term_working: bool | None = None,
    ) -> Composed:
        """`term_days`/`term_working`: the case's own term (its kind's, under a regulated
        profile), which the letter states; without them, the office's default.
        `protocollo`: the register's number and date, when the case was registered before
        the confirmation left (`[protocol] wait_seconds`); `message_id`: the one the letter
        was first composed with (composed again with the number, it stays the same letter).
        `incomplete`: the sender gave no name and the charter wants one; they are asked for
        it, and told the term runs from their answer. `channel`: how the case came, which says
        whether the address is proved (`ADDRESS_SOURCE`); to an unproved one the letter holds
        the case number, the office, the term and a short name, nothing else the sender wrote."""
        proved = address_proved(channel)
        if not proved:
            citizen = Address(short_name(citizen.name), citizen.email)
            subject, refused = "", ()
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
            "term_days": office.response_days if term_days is None else term_days,
            "term_working": office.working_days if term_working is None else term_working,
            "institution": self.institution,
            "address_proved": proved,
            "protocollo": {"numero": protocollo[0], "data": protocollo[1]} if protocollo else None,
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
            message_id=message_id,
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
        staff: Directory | None = None,
    ) -> Composed:
        """An operator's answer, sent to the citizen from the mailbox, never from the operator;
        copied to the office's URP and supervisors (`copies`, from `staff`: the whole directory,
        default the configuration's members). Replies to it, the copies' too, reach the mailbox."""
        staff = self.settings.directory if staff is None else staff
        sender_name = (  # no name known (a CLI reply): the office alone, not "URP — URP"
            self.settings.conversations.sender_format.format(
                operator=operator_name, office=office.name
            )
            if operator_name
            else office.name
        )
        values = {
            **self._office_values(office, staff),
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
            cc=copies(office, staff, citizen.email),
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
        channel: str,
        staff: Directory | None = None,
    ) -> Composed:
        """A message mailbot writes to the citizen for the office (an extension notice, the
        closing message): signed by the office, from the mailbox, copied as a relayed reply is
        (`copies`). To an unproved address (the case's `channel`) without the subject or the
        full name the submitter chose."""
        staff = self.settings.directory if staff is None else staff
        if not address_proved(channel):
            citizen = Address(short_name(citizen.name), citizen.email)
            subject = ""
        full = {
            **self._office_values(office, staff),
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
            cc=copies(office, staff, citizen.email),
        )
