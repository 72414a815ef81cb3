"""Importing a registry export: validation on one side, the database on the other.

An import is one transaction (it lands whole or not at all; `--dry-run` rolls it back), done in
chunks of a few thousand records with set-based statements: one SELECT finds the chunk's
existing taxpayers, a digest of what the file says decides "unchanged" without reading their
addresses, and new rows go in with many-row INSERTs. Taxpayers are keyed by codice fiscale or
partita IVA. `prune` retires the taxpayers a full export no longer has: they stop matching,
contacts lose the link, and the cases that name them keep it (they are history).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from mailbot.config import RegistrySettings
from mailbot.db import record_event, unit_of_work
from mailbot.matching import registry_file
from mailbot.matching.codes import name_tokens
from mailbot.matching.registry_validate import (
    Chunk,
    Entry,
    read_chunks,
)
from mailbot.models import Taxpayer, TaxpayerAddress, utcnow

_T = Taxpayer.__table__  # type: ignore[attr-defined]
_ADDRESS_INDEX_NAME = "ix_taxpayer_address_address"


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def import_chunks(
    session: Session,
    chunks: Iterable[Chunk],
    *,
    prune: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """The database side: upsert every entry; the caller's transaction decides whether it
    stays. With `prune`, taxpayers the chunks never named are retired."""
    report = ImportReport()
    kept: set[str] = set()
    fresh = _Fresh.start(session)
    for chunk in chunks:
        entries: dict[str, Entry] = {}
        for item in chunk:
            if isinstance(item, Entry):
                entries[item.code] = item
            else:
                report.rejected.append(item)
        kept.update(entries)
        _apply(session, entries, report, fresh)
        if progress is not None:
            progress(len(chunk))
    fresh.finish(session)
    if prune:
        report.pruned = _prune(session, kept)
    return report


class _Bulk:
    """Many-row statements handed straight to the driver: SQLAlchemy's per-row parameter
    handling cost more than SQLite's own work in a million-row import. Plain SQL, the
    placeholder of the dialect (qmark for SQLite, format for psycopg)."""

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        processor = sa.DateTime().bind_processor(dialect)
        naive = utcnow().replace(tzinfo=None)  # stored as naive UTC, like UTCDateTime
        self.now: Any = processor(naive) if processor else naive
        if dialect.name == "sqlite" and not processor:
            self.now = naive.isoformat(" ")  # what sqlite3's adapter writes, once, not per row

    def run(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self.connection.exec_driver_sql(sql.replace("?", self.mark), rows)

    def forget(self, taxpayers: list[tuple[int, str]]) -> None:
        """Remove the addresses and name words of (id, current name) taxpayers."""
        self.run("DELETE FROM taxpayer_address WHERE taxpayer_id = ?", [(t,) for t, _ in taxpayers])
        self.run(
            "DELETE FROM taxpayer_token WHERE token = ? AND taxpayer_id = ?",
            [(word, t) for t, name in taxpayers for word in name_tokens(name)],
        )

    def describe(self, entries: list[tuple[int, Entry]]) -> None:
        self.run(
            "INSERT INTO taxpayer_address (taxpayer_id, address, kind) VALUES (?, ?, ?)",
            [(t, address, kind) for t, e in entries for address, kind in e.addresses],
        )
        self.run(
            "INSERT INTO taxpayer_token (token, taxpayer_id) VALUES (?, ?)",
            [(word, t) for t, e in entries for word in e.tokens],
        )


@dataclass
class _Fresh:
    """An import into an empty registry (the first one, the big one): nothing to compare, so
    no look-up of existing taxpayers; on SQLite the ids are given in order (what SQLite would
    give them: one more than the largest) instead of read back, and the address index is
    dropped for the load and built once at the end, in the same transaction (a sort instead of
    a million inserts in random order; a crash rolls both back)."""

    empty: bool = False
    next_id: int | None = None  # SQLite: the id of the next new taxpayer

    @classmethod
    def start(cls, session: Session) -> _Fresh:
        if session.execute(sa.select(_T.c.id).limit(1)).first() is not None:
            return cls()
        if session.connection().dialect.name != "sqlite":
            return cls(empty=True)
        _ADDRESS_INDEX.drop(session.connection())
        return cls(empty=True, next_id=1)

    def finish(self, session: Session) -> None:
        if self.next_id is not None:
            _ADDRESS_INDEX.create(session.connection())


_ADDRESS_INDEX = next(i for i in TaxpayerAddress.__table__.indexes if i.name == _ADDRESS_INDEX_NAME)  # type: ignore[attr-defined]


def _apply(
    session: Session, entries: dict[str, Entry], report: ImportReport, fresh: _Fresh
) -> None:
    if not entries:
        return
    existing = {
        row.codice_fiscale: row
        for row in (
            ()
            if fresh.empty
            else session.execute(
                sa.select(
                    _T.c.id, _T.c.codice_fiscale, _T.c.digest, _T.c.name, _T.c.removed_at
                ).where(_T.c.codice_fiscale.in_(list(entries)))
            )
        )
    }
    new = [e for code, e in entries.items() if code not in existing]
    changed = [
        (existing[code], e)
        for code, e in entries.items()
        if code in existing
        and (existing[code].digest != e.digest or existing[code].removed_at is not None)
    ]
    report.unchanged += len(entries) - len(new) - len(changed)
    report.added += len(new)
    report.updated += len(changed)
    bulk = _Bulk(session)
    ids: dict[str, int] = {}
    if fresh.next_id is not None:
        first, fresh.next_id = fresh.next_id, fresh.next_id + len(new)
        ids = {e.code: n for n, e in enumerate(new, start=first)}
        bulk.run(
            "INSERT INTO taxpayer (id, codice_fiscale, name, postal_address, digest, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (n, e.code, e.name, e.postal_address, e.digest, bulk.now, bulk.now)
                for n, e in enumerate(new, start=first)
            ],
        )
    else:
        bulk.run(
            "INSERT INTO taxpayer (codice_fiscale, name, postal_address, digest, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(e.code, e.name, e.postal_address, e.digest, bulk.now, bulk.now) for e in new],
        )
    if new and not ids:
        query = sa.select(_T.c.codice_fiscale, _T.c.id).where(
            _T.c.codice_fiscale.in_([e.code for e in new])
        )
        ids = {code: tid for code, tid in session.execute(query)}
    bulk.forget([(row.id, row.name) for row, _ in changed if row.removed_at is None])
    bulk.run(
        "UPDATE taxpayer SET name = ?, postal_address = ?, digest = ?, removed_at = NULL,"
        " updated_at = ? WHERE id = ?",
        [(e.name, e.postal_address, e.digest, bulk.now, row.id) for row, e in changed],
    )
    ids.update({e.code: row.id for row, e in changed})
    bulk.describe([(ids[e.code], e) for e in (*new, *(e for _, e in changed))])


def _prune(session: Session, keep: set[str]) -> int:
    gone = [
        (tid, name)
        for tid, code, name in session.execute(
            sa.select(_T.c.id, _T.c.codice_fiscale, _T.c.name).where(_T.c.removed_at.is_(None))
        )
        if code not in keep
    ]
    bulk = _Bulk(session)
    bulk.forget(gone)
    bulk.run("UPDATE taxpayer SET removed_at = ? WHERE id = ?", [(bulk.now, t) for t, _ in gone])
    bulk.run("UPDATE contact SET taxpayer_id = NULL WHERE taxpayer_id = ?", [(t,) for t, _ in gone])
    return len(gone)


def import_file(
    engine: Engine,
    path: Path,
    settings: RegistrySettings,
    *,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    prune: bool = False,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """`registry import`: the whole file in one transaction, rolled back for a dry run; a large
    file is read and validated in a second process while this one writes (`read_chunks`)."""
    options = {"fmt": fmt, "delimiter": delimiter, "encoding": encoding}
    registry_file.check_readable(path)
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples, no cycles: the collector only walked them
    try:
        with unit_of_work(engine) as session, read_chunks(path, settings, options) as chunks:
            if engine.dialect.name == "sqlite":
                # The registry's indexes take inserts in random order: with them in memory a
                # million-row import is I/O-free (this connection only; up to 512 MB).
                session.connection().exec_driver_sql("PRAGMA cache_size=-524288")
            report = import_chunks(session, chunks, prune=prune, progress=progress)
            if dry_run:
                raise _DryRun(report)
            record_event(
                session,
                "registry.imported",
                file=path.name,
                added=report.added,
                updated=report.updated,
                unchanged=report.unchanged,
                pruned=report.pruned,
                rejected=len(report.rejected),
            )
    except _DryRun as dry:
        return dry.report
    finally:
        if collecting:
            gc.enable()
    return report


class _DryRun(Exception):
    """Leaves the import's transaction by rolling it back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report
