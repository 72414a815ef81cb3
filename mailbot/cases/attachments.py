"""The attachment policy: which of a citizen's attachments go on (type and size), with names
read as Windows and macOS would read them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlmodel import Session

from mailbot.cases.messages import Incoming
from mailbot.db import record_event
from mailbot.ingest.archives import archive_problem
from mailbot.ingest.limits import blocked_name, cap_filename
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
    attachments = mail.parsed.attachments
    for attachment in attachments:
        why = _refusal(attachment, limits.blocked_extensions, limits.max_attachment_bytes)
        name = cap_filename(attachment.filename)  # judged whole, recorded cut (extension kept)
        if why is not None:
            refused.append((name, why))
        else:
            cut = name != attachment.filename
            accepted.append(dataclasses.replace(attachment, filename=name) if cut else attachment)
    if not refused and all(a is b for a, b in zip(accepted, attachments, strict=True)):
        return mail, []
    parsed = dataclasses.replace(mail.parsed, attachments=tuple(accepted))
    return Incoming(mail.entry, parsed, mail.origin), refused


def _refusal(attachment: Attachment, blocked: Sequence[str], max_bytes: int) -> str | None:
    """ "type": a blocked name (the whole name, before any cut), or an archive holding one or
    that cannot be looked into (ingest/archives.py); "size": over the cap; None: accepted."""
    if blocked_name(attachment.filename, blocked):
        return "type"
    if len(attachment.payload) > max_bytes:
        return "size"
    if archive_problem(attachment.filename, attachment.payload, blocked) is not None:
        return "type"
    return None
