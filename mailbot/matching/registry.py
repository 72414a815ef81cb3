"""The taxpayer registry ("anagrafe contribuenti"): the look-ups matching and the CLI need,
by address, by code, by similar name. Imports live in `registry_import`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from mailbot.matching.codes import fold, name_tokens, normalise_code
from mailbot.models import Taxpayer, TaxpayerAddress, TaxpayerToken
from mailbot.types import normalise_address

_T, _K = Taxpayer.__table__, TaxpayerToken.__table__  # type: ignore[attr-defined]


def taxpayers_with_address(session: Session, address: str) -> list[int]:
    query = (
        select(TaxpayerAddress.taxpayer_id)
        .where(TaxpayerAddress.address == normalise_address(address))
        .distinct()
        .order_by(col(TaxpayerAddress.taxpayer_id))
    )
    return list(session.exec(query))


def by_code(session: Session, code: str) -> Taxpayer | None:
    normal = normalise_code(code)
    if normal is None:
        return None
    return session.exec(
        select(Taxpayer).where(
            Taxpayer.codice_fiscale == normal, col(Taxpayer.removed_at).is_(None)
        )
    ).first()


def similar_names(
    session: Session, name: str, threshold: int, limit: int = 5
) -> list[tuple[int, float]]:
    """Taxpayers whose name has every word of `name` (two at least), in any order, ranked by
    rapidfuzz; (taxpayer id, score) at or above `threshold`.

    The words' postings are intersected by a join on the token table's primary key, the
    longest word outside (long words are the rarer ones: surnames before "Mario"), so that
    the search walks one posting list and stops at 200 candidates (a GROUP BY over every
    posting of "mario" and "rossi" took 17 ms in a million-row registry, this 4 ms)."""
    words = sorted(name_tokens(name), key=lambda w: (-len(w), w))
    if len(words) < 2:
        return []  # one word ("Mario") says nothing about who it is
    outer = _K.alias("w0")
    query = sa.select(outer.c.taxpayer_id).where(outer.c.token == words[0])
    for n, word in enumerate(words[1:], start=1):
        other = _K.alias(f"w{n}")
        query = query.join(
            other, sa.and_(other.c.token == word, other.c.taxpayer_id == outer.c.taxpayer_id)
        )
    candidates = list(session.execute(query.limit(200)).scalars())
    if not candidates:
        return []
    wanted = fold(name)
    scored = [
        (
            tid,
            float(fuzz.token_set_ratio(wanted, fold(tname))),
            fuzz.token_sort_ratio(wanted, fold(tname)),
        )
        for tid, tname in session.execute(
            sa.select(_T.c.id, _T.c.name).where(_T.c.id.in_(candidates))
        )
    ]
    best = sorted((s for s in scored if s[1] >= threshold), key=lambda s: (-s[1], -s[2], s[0]))
    return [(tid, score) for tid, score, _ in best[:limit]]


def search(session: Session, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """`registry show`: by code, by address, else by name."""
    text = query.strip()
    ids: list[int]
    found = by_code(session, text)
    if found is not None and found.id is not None:
        ids = [found.id]
    elif "@" in text:
        ids = taxpayers_with_address(session, text)
    else:
        ids = [tid for tid, _ in similar_names(session, text, threshold=60, limit=limit)]
        if not ids and len(name_tokens(text)) == 1:
            [word] = name_tokens(text)
            ids = list(
                session.execute(
                    sa.select(_K.c.taxpayer_id).where(_K.c.token == word).limit(limit)
                ).scalars()
            )
    return [describe(session, tid) for tid in ids]


def describe(session: Session, taxpayer_id: int) -> dict[str, Any]:
    taxpayer = session.get(Taxpayer, taxpayer_id)
    assert taxpayer is not None
    addresses = session.exec(
        select(TaxpayerAddress)
        .where(TaxpayerAddress.taxpayer_id == taxpayer_id)
        .order_by(col(TaxpayerAddress.address))
    )
    listed = list(addresses)
    return {
        "codice_fiscale": taxpayer.codice_fiscale,
        "name": taxpayer.name,
        "email": [a.address for a in listed if a.kind == "email"],
        "pec": [a.address for a in listed if a.kind == "pec"],
        "postal_address": taxpayer.postal_address,
        "removed": taxpayer.removed_at is not None,
    }
