"""One person's mailbox, however its address is spelled: the key the brake on automatic mail
counts by, so `victim+1@`, `Victim@` and (at providers that ignore dots) `v.ictim@` are one
recipient, not three with a limit each.

The key: lower case; the plus-suffix of the local part dropped (`victim+1` is `victim`); the
dots of the local part dropped at the providers in `DOTLESS`; the domain in its IDNA (ASCII)
form, so `dominio-è.it` and `xn--dominio--...` are one domain.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from mailbot.models import OutboundMessage

# Providers that deliver `a.b.c@` to `abc@`: the dots of the local part mean nothing there.
DOTLESS = frozenset({"gmail.com", "googlemail.com"})
# The same mailboxes under another name: counted as the first.
SAME_PROVIDER = {"googlemail.com": "gmail.com"}


def recipient_key(address: str) -> str:
    """The normalised form of `address`, which the per-recipient limit counts by."""
    local, at, domain = address.strip().strip("<>").strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    domain = _ascii_domain(domain.rstrip("."))
    local = local.split("+", 1)[0] or local
    domain = SAME_PROVIDER.get(domain, domain)
    if domain in DOTLESS:
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a name IDNA can write: compared as it is
        return domain


def count_to(session: Session, since: datetime, address: str, kinds: Collection[str]) -> int:
    """Mail of `kinds` queued since `since` to the same mailbox as `address`, however each was
    spelled. Addresses are stored in lower case (types.Address), so every spelling starts with
    the key's local part (only a plus-suffix may follow), or at a dotless provider with its
    first letter: the database narrows to that prefix on the recipients index; the key decides."""
    key = recipient_key(address)
    local, _, domain = key.rpartition("@")
    prefix = local[:1] if domain in DOTLESS else local
    connection = session.connection()
    params: dict[str, object] = {"since": since, "kinds": list(kinds)}
    ranged = bool(prefix) and prefix[-1] != chr(0x10FFFF)
    if ranged:  # every string that starts with `prefix`, as a range an index can serve
        params.update(low=prefix, high=prefix[:-1] + chr(ord(prefix[-1]) + 1))
    query = _count_query(connection.dialect.name == "postgresql", ranged)
    return sum(
        1
        for (recipients,) in connection.execute(query, params)
        if any(recipient_key(r) == key for r in recipients.split(","))
    )


@functools.cache
def _count_query(postgresql: bool, ranged: bool) -> sa.Select[str]:
    """`count_to`'s query, built once per dialect and shape, run on the session's connection
    (the outbox is written with core INSERTs: there is nothing for an autoflush to write)."""
    table = OutboundMessage.__table__  # type: ignore[attr-defined]
    column = table.c.recipients
    if postgresql:  # code-point order, as SQLite's BINARY compares
        column = column.collate("C")
    query = sa.select(table.c.recipients).where(
        table.c.created_at >= sa.bindparam("since"),
        table.c.kind.in_(sa.bindparam("kinds", expanding=True)),
    )
    if ranged:
        query = query.where(column >= sa.bindparam("low"), column < sa.bindparam("high"))
    return query
