"""Matching again, after the registry changed: every case not firmly linked (generic,
unverified, to confirm, suggested, ambiguous) goes through the matching rules again with the
citizen's first message as it was received (the stored original: its sender, its
Authentication-Results, its text) and the registry as it is now. Without `apply` it only says
what would change. Cases an operator confirmed, and authentic links, are left alone.

An operator can also say who a case is about: `link` (CLI `workorders link NUMBER CODICE`).

It sits beside the pipeline (DESIGN.md: entry points → pipeline/reconcile → stages).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mailbot import pipeline
from mailbot.cases import workorders
from mailbot.db import unit_of_work
from mailbot.errors import InputError
from mailbot.ingest import pec
from mailbot.matching import matcher, registry
from mailbot.models import ConversationMessage, InboundMessage, Taxpayer, WorkOrder
from mailbot.services import Services
from mailbot.types import Match, MatchRule, MatchState

REMATCHED = (
    MatchState.GENERIC,
    MatchState.UNVERIFIED,
    MatchState.TO_CONFIRM,
    MatchState.SUGGESTED,
    MatchState.AMBIGUOUS,
)


@dataclass(frozen=True)
class Change:
    number: str
    before: dict[str, Any]
    after: dict[str, Any]


def rematch(services: Services, since: datetime | None = None, apply: bool = False) -> list[Change]:
    changes: list[Change] = []
    with unit_of_work(services.engine) as session:
        query = select(WorkOrder).where(col(WorkOrder.match_state).in_(REMATCHED))
        if since is not None:
            query = query.where(WorkOrder.received_at >= since)
        for work_order in list(session.exec(query.order_by(col(WorkOrder.id)))):
            ev = _evidence(services, session, work_order)
            if ev is None:
                continue
            rule, found = matcher.find(session, ev)
            before = _view(
                session, work_order.match_rule, work_order.match_state, work_order.taxpayer_id
            )
            after = _view(session, rule.name, found.state, found.taxpayer_id)
            candidates = workorders.codes(session, found.candidates)
            if before == after and candidates == work_order.match_candidates:
                continue
            changes.append(Change(work_order.number, before, {**after, "evidence": found.evidence}))
            if apply:
                workorders.relink(session, work_order, matcher.match_sender(session, ev), "rematch")
    return changes


def _view(session: Session, rule: str, state: str, taxpayer_id: int | None) -> dict[str, Any]:
    taxpayer = session.get(Taxpayer, taxpayer_id) if taxpayer_id else None
    return {
        "rule": str(rule),
        "state": str(state),
        "codice_fiscale": taxpayer.codice_fiscale if taxpayer else None,
    }


def _evidence(
    services: Services, session: Session, work_order: WorkOrder
) -> matcher.Evidence | None:
    """The case's first message, as the pipeline saw it (PEC verification is not redone: the
    provider's certificate may have expired since; what was decided then stands)."""
    assert work_order.id is not None
    first = session.exec(
        select(ConversationMessage)
        .where(ConversationMessage.work_order_id == work_order.id)
        .where(ConversationMessage.direction == "in")
        .order_by(col(ConversationMessage.id))
    ).first()
    entry = session.get(InboundMessage, first.inbound_id) if first and first.inbound_id else None
    if entry is None:
        return None
    raw = services.store.get(entry.raw_sha256)
    certified = pec.detect(raw)
    parsed = pipeline.opened(raw, certified)
    sender = (pec.certified_from(certified, parsed.sender) if certified else None) or parsed.sender
    if sender is None:
        return None
    pec_verified = certified is not None and work_order.contact_verified
    parsed = dataclasses.replace(parsed, pec_verified=pec_verified)
    try:
        trust_from = services.settings.mailbox(work_order.mailbox).trust_from
    except KeyError:  # the mailbox is gone from the configuration
        trust_from = False
    return pipeline.sender_evidence(
        services, parsed, sender, trust_from=trust_from, web=work_order.channel == "web"
    )


def link(services: Services, number: str, code: str, operator: str) -> str:
    """An operator says who the case is about: a registry code, now confirmed."""
    with unit_of_work(services.engine) as session:
        work_order = workorders.by_number(session, number)
        taxpayer = registry.by_code(session, code)
        if taxpayer is None or taxpayer.id is None:
            raise InputError(f"no taxpayer with codice fiscale or partita IVA {code!r}")
        match = Match(
            contact_id=work_order.contact_id,
            rule=MatchRule.OPERATOR,
            confidence=1.0,
            taxpayer_id=taxpayer.id,
            state=MatchState.CONFIRMED,
            evidence=f"linked by {operator}",
        )
        workorders.relink(session, work_order, match, operator)
        return f"{number}: linked to {taxpayer.codice_fiscale} {taxpayer.name} (confirmed)"
