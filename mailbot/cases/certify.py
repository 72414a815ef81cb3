"""The real sender of a certified (PEC) envelope, and whether it is PEC-verified."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from mailbot.db import record_event
from mailbot.ingest import pec
from mailbot.models import InboundMessage
from mailbot.services import Services
from mailbot.types import ParsedMessage


def certified_sender(
    services: Services,
    session: Session,
    entry: InboundMessage,
    certified: pec.Pec,
    *,
    parsed: ParsedMessage,
    raw: bytes,
) -> ParsedMessage:
    """The real sender of a certified envelope (`pec.certified_from`). Only a valid provider
    signature, with the certified sender equal to the inner From, makes the message (and its
    contact) PEC-verified; an invalid one is still processed, as ordinary unverified mail."""
    certified_sender = pec.certified_from(certified, parsed.sender)
    real = certified_sender.email if certified_sender else None
    inner = parsed.sender.email if parsed.sender else None
    daticert = certified.daticert
    check = pec.verify(raw, services.settings.pec.ca_bundle, daticert.data if daticert else None)
    verified = check.result == "valid" and real is not None and real == inner
    record_event(
        session,
        f"pec.{certified.kind}",
        inbound_id=entry.id,
        mittente=real or "",
        inner_from=inner or "",
        matches=real == inner,
        identificativo=daticert.identificativo if daticert else "",
        signature=check.result,
        signature_detail=check.reason,
        verified=verified,
    )
    if certified_sender is not None and real != inner:
        return dataclasses.replace(parsed, sender=certified_sender)
    return dataclasses.replace(parsed, pec_verified=verified)
