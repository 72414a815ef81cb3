"""Sender → contact, and case → taxpayer. The rules are data: an ordered tuple, the first rule
that finds wins, and its name, confidence, state and evidence are stored on the work order so
a match can always be explained.

1. `pec_verified`: a certified PEC sender (valid provider signature) at a registered address.
2. `registry_address`: the From address is registered to exactly one taxpayer. Linked only
   when the address is authentic (Authentication-Results of a trusted server, or a mailbox
   with `trust_from`); otherwise linked as *unverified*: a From header is easy to forge.
3. `claimed_code`: a codice fiscale or partita IVA written in the message, with valid check
   characters, of a registered taxpayer. A claim: the case is linked *to confirm*, the
   contact is not.
4. `ambiguous_address`: the address is registered to several taxpayers (a family, an
   accountant): never guessed; the candidates are listed.
5. `similar_name`: the display name has the words of registered names (rapidfuzz score):
   suggestions only, nothing linked.
6. `generic_contact`: the address's own contact, linked to nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.matching import authn, registry
from mailbot.matching.codes import claimed_codes
from mailbot.models import Contact, utcnow
from mailbot.types import Address, Match, MatchRule, MatchState, ParsedMessage


@dataclass(frozen=True)
class Evidence:
    """What a message says about who sent it."""

    sender: Address
    pec_verified: bool = False
    authentic: bool = False  # the From address is not forged
    why_authentic: str = ""
    text: str = ""  # subject and body, where a code may be written
    name_similarity: int = 90
    forged: str = ""  # why the From address is very likely forged (DMARC fail, p=reject)
    # Typed into the web form by anyone: never authentic, and a known contact stays as it is.
    unverified: bool = False
    # The registry's taxpayers at the sender's address, read once for the rules that ask.
    at_address: list[list[int]] = field(default_factory=list, init=False, compare=False, repr=False)


def _taxpayers_at(session: Session, ev: Evidence) -> list[int]:
    if not ev.at_address:
        ev.at_address.append(registry.taxpayers_with_address(session, ev.sender.email))
    return ev.at_address[0]


def evidence(
    parsed: ParsedMessage,
    sender: Address,
    *,
    trust_from: bool,
    trusted_ids: Collection[str],
    name_similarity: int = 90,
    unverified: bool = False,
) -> Evidence:
    forged = ""
    if unverified:
        authentic, why = False, "typed into the web form"
    elif parsed.pec_verified:
        authentic, why = True, "PEC: valid provider signature, certified sender"
    elif trust_from:
        authentic, why = True, "mailbox trust_from"
    else:
        verdict = authn.authenticate(parsed.auth_results, sender.email, trusted_ids)
        authentic, why = verdict.authentic, verdict.reason
        forged = "" if authentic else authn.dmarc_failure(parsed.auth_results, trusted_ids) or ""
    return Evidence(
        sender=sender,
        pec_verified=parsed.pec_verified,
        authentic=authentic,
        why_authentic=why,
        text=f"{parsed.subject}\n{parsed.text[:20_000]}",
        name_similarity=name_similarity,
        forged=forged,
        unverified=unverified,
    )


def authentication_failure(parsed: ParsedMessage, trusted_ids: Collection[str]) -> str | None:
    """Why a trusted server says the From address was not the sender's, or None."""
    return authn.failure(parsed.auth_results, trusted_ids)


@dataclass(frozen=True)
class Found:
    taxpayer_id: int | None
    state: MatchState
    candidates: tuple[int, ...] = ()
    evidence: str = ""

    @property
    def links_contact(self) -> bool:
        """The address itself belongs to the taxpayer (not a claim, not a guess)."""
        return self.state in (MatchState.LINKED, MatchState.UNVERIFIED)


@dataclass(frozen=True)
class Rule:
    name: MatchRule
    confidence: float
    find: Callable[[Session, Evidence], Found | None]


def _pec_verified(session: Session, ev: Evidence) -> Found | None:
    if not ev.pec_verified:
        return None
    taxpayers = _taxpayers_at(session, ev)
    if len(taxpayers) != 1:
        return None
    return Found(taxpayers[0], MatchState.LINKED, evidence=ev.why_authentic)


def _registry_address(session: Session, ev: Evidence) -> Found | None:
    taxpayers = _taxpayers_at(session, ev)
    if len(taxpayers) != 1:
        return None
    state = MatchState.LINKED if ev.authentic else MatchState.UNVERIFIED
    return Found(taxpayers[0], state, evidence=ev.why_authentic)


def _claimed_code(session: Session, ev: Evidence) -> Found | None:
    for code in claimed_codes(ev.text):
        taxpayer = registry.by_code(session, code)
        if taxpayer is not None and taxpayer.id is not None:
            return Found(taxpayer.id, MatchState.TO_CONFIRM, evidence=f"code {code} in the message")
    return None


def _ambiguous_address(session: Session, ev: Evidence) -> Found | None:
    taxpayers = _taxpayers_at(session, ev)
    if len(taxpayers) < 2:
        return None
    shared = f"address registered to {len(taxpayers)} taxpayers"
    return Found(None, MatchState.AMBIGUOUS, tuple(taxpayers), evidence=shared)


def _similar_name(session: Session, ev: Evidence) -> Found | None:
    similar = registry.similar_names(session, ev.sender.name, ev.name_similarity)
    if not similar:
        return None
    scores = ", ".join(f"{score:.0f}" for _, score in similar)
    return Found(
        None, MatchState.SUGGESTED, tuple(t for t, _ in similar), evidence=f"name score {scores}"
    )


def _generic_contact(session: Session, ev: Evidence) -> Found | None:
    return Found(None, MatchState.GENERIC)


RULES: tuple[Rule, ...] = (
    Rule(MatchRule.PEC_VERIFIED, 1.0, _pec_verified),
    Rule(MatchRule.REGISTRY_ADDRESS, 0.9, _registry_address),
    Rule(MatchRule.CLAIMED_CODE, 0.5, _claimed_code),
    Rule(MatchRule.AMBIGUOUS_ADDRESS, 0.0, _ambiguous_address),
    Rule(MatchRule.SIMILAR_NAME, 0.3, _similar_name),
    Rule(MatchRule.GENERIC_CONTACT, 0.0, _generic_contact),
)


def find(session: Session, ev: Evidence) -> tuple[Rule, Found]:
    """The first rule that finds, without touching contacts (rematch previews with it)."""
    ev.at_address.clear()  # read afresh in this transaction (a retry, a later rematch)
    for rule in RULES:
        found = rule.find(session, ev)
        if found is not None:
            return rule, found
    raise AssertionError("the last rule always finds")  # pragma: no cover


def match_sender(session: Session, ev: Evidence) -> Match:
    rule, found = find(session, ev)
    linked = found.taxpayer_id if found.links_contact else None
    contact_id, new = contact_for(session, ev.sender, linked, keep_known=ev.unverified)
    return Match(
        contact_id=contact_id,
        rule=rule.name,
        confidence=rule.confidence,
        taxpayer_id=found.taxpayer_id,
        candidates=found.candidates,
        state=found.state,
        verified=ev.authentic,
        evidence=found.evidence,
        forged=ev.forged,
        new_contact=new,
    )


# A known contact through the ORM (the flow changes it, and autoflush sees one changed earlier
# in the transaction), a new one with a core INSERT (the unit of work cost more than the row);
# both statements built once: building one costs more than running it.
_CONTACT = select(Contact).where(col(Contact.email) == sa.bindparam("email"))
_NEW_CONTACT = sa.insert(Contact.__table__)  # type: ignore[attr-defined]


def contact_for(
    session: Session, sender: Address, taxpayer_id: int | None, *, keep_known: bool = False
) -> tuple[int, bool]:
    """The id of the address's contact, linked to the taxpayer the address belongs to (as the
    registry says now), or to nobody; and whether it is new. `keep_known`: a known contact is
    left as it is (name, link), whatever the message says."""
    contact = session.execute(_CONTACT, {"email": sender.email}).scalar()
    if contact is None:
        inserted = session.connection().execute(
            _NEW_CONTACT,
            {
                "email": sender.email, "name": sender.name, "taxpayer_id": taxpayer_id,
                "pec_verified": False, "phone": "", "created_at": utcnow(),
            },
        )  # fmt: skip
        key = inserted.inserted_primary_key
        assert key is not None
        return int(key[0]), True
    if not keep_known:
        contact.taxpayer_id = taxpayer_id
        if sender.name:
            contact.name = sender.name
        session.flush()
    assert contact.id is not None
    return contact.id, False
