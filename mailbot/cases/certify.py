"""The real sender of a certified (PEC) envelope, and whether it is PEC-verified."""

from __future__ import annotations

import dataclasses

from sqlmodel import Session

from mailbot.db import record_event
from mailbot.ingest import pec
from mailbot.models import InboundMessage
from mailbot.services import Services
from mailbot.types import Address, ParsedMessage


def certified_sender(
    services: Services,
    session: Session,
    entry: InboundMessage,
    certified: pec.Pec,
    *,
    parsed: ParsedMessage,
    raw: bytes,
) -> ParsedMessage:
    """The real sender of a certified envelope is daticert's mittente (certified by the
    sender's provider), never the provider's posta-certificata@ address; an anomaly's inner
    From is declared, not certified. Only a valid provider signature, with the certified sender
    equal to the inner From, makes the message (and its contact) PEC-verified; an invalid one
    is still processed, as ordinary unverified mail."""
    real = certified.sender if certified.kind == pec.ENVELOPE else None
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
    if real and real != inner:
        name = parsed.sender.name if parsed.sender else ""
        return dataclasses.replace(parsed, sender=Address(name, real))
    return dataclasses.replace(parsed, pec_verified=verified)
