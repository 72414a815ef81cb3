"""The attachment policy: which of a citizen's attachments go on (type and size), with names
read as Windows and macOS would read them.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence

from sqlmodel import Session

from mailbot.cases.messages import Incoming
from mailbot.db import record_event
from mailbot.models import WorkOrder
from mailbot.services import Services
from mailbot.types import Attachment


def note_refused(
    session: Session, work_order: WorkOrder, mail: Incoming, refused: list[tuple[str, str]]
) -> None:
    if refused:
        record_event(
            session,
            "attachment.refused",
            work_order_id=work_order.id,
            inbound_id=mail.entry.id,
            refused=[f"{name} ({why})" for name, why in refused],
        )


def screen_attachments(
    services: Services, mail: Incoming
) -> tuple[Incoming, list[tuple[str, str]]]:
    """The citizen's attachments the policy accepts; the others with why ("type", "size").
    Refused ones stay in the stored original (evidence) but go nowhere else."""
    limits = services.settings.limits
    accepted: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    if mail.oversized:  # what was parsed is a truncated head: no attachment is whole
        return Incoming(
            mail.entry, dataclasses.replace(mail.parsed, attachments=()), mail.origin
        ), []
    for attachment in mail.parsed.attachments:
        if blocked_name(attachment.filename, limits.blocked_extensions):
            refused.append((attachment.filename, "type"))
        elif len(attachment.payload) > limits.max_attachment_bytes:
            refused.append((attachment.filename, "size"))
        else:
            accepted.append(attachment)
    if not refused:
        return mail, []
    parsed = dataclasses.replace(mail.parsed, attachments=tuple(accepted))
    return Incoming(mail.entry, parsed, mail.origin), refused


# Cyrillic and Greek letters that look like Latin ones: a name ending in Cyrillic "exe" is
# not ".exe" to a naive policy, but is to a reader and, once renamed, to Windows.
_LOOK_ALIKES = str.maketrans(
    "\u0430\u0432\u0441\u0435\u0456\u0458\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0410\u0412\u0421\u0415\u0406\u0408\u041a\u041c\u041d"
    "\u041e\u0420\u0421\u0422\u0425\u0423\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u03bf\u03b5\u03b9\u03b1\u03bd",
    "abceijkmhopctyxABCEIJKMHOPCTXYABEZHIKMNOPTYXoeiav",
)


def blocked_name(filename: str, blocked: Sequence[str]) -> bool:
    """Whether the policy refuses this name as Windows and macOS would read it: NFKC-folded,
    invisible characters gone, trailing dots and blanks dropped, look-alike letters read as
    Latin, and every part of an alternate data stream name ("a.pdf:x.exe") checked."""
    name = "".join(
        ch for ch in unicodedata.normalize("NFKC", filename) if ch.isprintable()
    ).translate(_LOOK_ALIKES)
    for piece in name.split(":"):
        clean = piece.strip().rstrip(". ").lower()
        if "." in clean and "." + clean.rsplit(".", 1)[-1].strip() in blocked:
            return True
    return False
