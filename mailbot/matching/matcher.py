"""Sender → contact. The rules are data: an ordered tuple, first rule that finds wins, and the
rule's name and confidence are stored on the work order so a match can always be explained.

First cut: the normalised From address against the registry's email and PEC addresses (one
taxpayer only: an address shared by several is ambiguous and never guessed), otherwise the
generic contact of that address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from mailbot.matching.registry import taxpayers_with_address
from mailbot.models import Contact
from mailbot.types import Address, Match, MatchRule


@dataclass(frozen=True)
class Found:
    taxpayer_id: int | None
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True)
class Rule:
    name: MatchRule
    confidence: float
    find: Callable[[Session, Address], Found | None]


def _registry_address(session: Session, sender: Address) -> Found | None:
    taxpayers = taxpayers_with_address(session, sender.email)
    return Found(taxpayers[0]) if len(taxpayers) == 1 else None


def _generic_contact(session: Session, sender: Address) -> Found | None:
    return Found(None, tuple(taxpayers_with_address(session, sender.email)))


RULES: tuple[Rule, ...] = (
    Rule(MatchRule.REGISTRY_ADDRESS, 1.0, _registry_address),
    Rule(MatchRule.GENERIC_CONTACT, 0.0, _generic_contact),
)


def match_sender(session: Session, sender: Address) -> Match:
    for rule in RULES:
        found = rule.find(session, sender)
        if found is not None:
            contact = _contact_for(session, sender, found.taxpayer_id)
            assert contact.id is not None
            return Match(
                contact_id=contact.id,
                rule=rule.name,
                confidence=rule.confidence,
                taxpayer_id=found.taxpayer_id,
                candidates=found.candidates,
            )
    raise AssertionError("the last rule always finds")  # pragma: no cover


def _contact_for(session: Session, sender: Address, taxpayer_id: int | None) -> Contact:
    contact = session.exec(select(Contact).where(Contact.email == sender.email)).first()
    if contact is None:
        contact = Contact(email=sender.email, name=sender.name, taxpayer_id=taxpayer_id)
        session.add(contact)
    else:
        contact.taxpayer_id = taxpayer_id  # follows the registry as it is now
        if sender.name:
            contact.name = sender.name
    session.flush()
    return contact
