"""The reference of the registry import (issue 32): the least a complete import of the generated
export does, in one process, with nothing but the standard library and python-stdnum.

    python bench/registry_minimal.py EXPORT.csv DATABASE.db

Reads the `;` CSV (Windows-1252) with the csv module, checks each code's check character (a
codice fiscale by stdnum's `calc_check_digit`, a partita IVA by Luhn), lower-cases and splits
the addresses, cuts the name into the words that a similar-name search looks up, and writes
mailbot's three registry tables (the DDL copied from a mailbot database: the same unique keys
and indexes, so the same look-ups are indexed) in one SQLite transaction with executemany, on
SQLite's defaults apart from the page cache mailbot also raises for an import. What it leaves
out: other formats and encodings, reporting bad lines, updates of an existing registry.
Prints `imported N, rejected M`.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

from stdnum import luhn
from stdnum.it import codicefiscale

TABLES = ("taxpayer", "taxpayer_address", "taxpayer_token")


def schema(mailbot_database: Path) -> list[str]:
    """The CREATE statements of the registry tables and their indexes, as mailbot has them."""
    with sqlite3.connect(mailbot_database) as db:
        rows = db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?) AND sql IS NOT NULL"
            " ORDER BY type DESC",  # tables before indexes
            TABLES,
        ).fetchall()
    return [sql for (sql,) in rows]


def valid(code: str) -> bool:
    if len(code) == 16:
        return codicefiscale.calc_check_digit(code[:15]) == code[15]
    return len(code) == 11 and code.isdigit() and luhn.is_valid(code)


def import_export(export: Path, database: Path, ddl: list[str]) -> tuple[int, int]:
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA cache_size=-524288")
    db.execute("BEGIN")
    for statement in ddl:
        db.execute(statement)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    taxpayers: list[tuple[object, ...]] = []
    addresses: list[tuple[object, ...]] = []
    tokens: list[tuple[object, ...]] = []
    imported = rejected = 0
    with export.open(encoding="cp1252", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        next(reader)
        for given, surname, first, emails, pec, postal in reader:
            code = given.strip().upper()
            if not valid(code):
                rejected += 1
                continue
            imported += 1
            name = f"{surname} {first}".strip()
            taxpayers.append((imported, code, name, postal, "", now, now))
            found = {a: "email" for a in emails.lower().split()}
            found.update((a, "pec") for a in pec.lower().split())
            addresses.extend((imported, a, kind) for a, kind in found.items())
            words = {w for w in name.lower().replace(".", "").split() if len(w) >= 3}
            tokens.extend((w, imported) for w in words)
            if len(taxpayers) >= 5000:
                flush(db, taxpayers, addresses, tokens)
    flush(db, taxpayers, addresses, tokens)
    db.execute("COMMIT")
    db.close()
    return imported, rejected


def flush(db: sqlite3.Connection, *rows: list[tuple[object, ...]]) -> None:
    taxpayers, addresses, tokens = rows
    db.executemany(
        "INSERT INTO taxpayer (id, codice_fiscale, name, postal_address, digest, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        taxpayers,
    )
    db.executemany(
        "INSERT INTO taxpayer_address (taxpayer_id, address, kind) VALUES (?, ?, ?)", addresses
    )
    db.executemany("INSERT INTO taxpayer_token (token, taxpayer_id) VALUES (?, ?)", tokens)
    for batch in rows:
        batch.clear()


if __name__ == "__main__":
    export, database, mailbot_database = map(Path, sys.argv[1:4])
    done, bad = import_export(export, database, schema(mailbot_database))
    print(f"imported {done}, rejected {bad}")
