"""The taxpayer registry ("anagrafe contribuenti"): import from CSV and look-ups by address.

CSV columns: `codice_fiscale,name,email,pec` (header required; `,` or `;`, UTF-8 or Latin-1
detected). `email` and `pec` may hold several addresses separated by blanks or `;`/`,` inside
the field. Rows are upserted by codice fiscale (or partita IVA); a row that cannot be used is
reported with its line number and reason, and the rest of the file still goes in.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select
from stdnum.it import codicefiscale, iva

from mailbot.errors import InputError
from mailbot.models import Taxpayer, TaxpayerAddress, utcnow
from mailbot.types import looks_like_address, normalise_address

REQUIRED_COLUMNS = ("codice_fiscale", "name")
ADDRESS_COLUMNS = ("email", "pec")


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def normalise_code(value: str) -> str | None:
    """A valid codice fiscale or partita IVA in canonical form, else None."""
    code = re.sub(r"\s+", "", value).upper()
    if codicefiscale.is_valid(code):
        return codicefiscale.compact(code)
    if iva.is_valid(code):
        return iva.compact(code)
    return None


def _split_addresses(value: str) -> list[str]:
    return [normalise_address(a) for a in re.split(r"[\s;,]+", value or "") if a.strip()]


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # Italian registry exports often are


def import_csv(session: Session, path: Path) -> ImportReport:
    text = _read_text(path)
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected header "
            "codice_fiscale,name,email,pec"
        )
    reader.fieldnames = columns
    report = ImportReport()
    for row in reader:
        line = reader.line_num
        problem = _import_row(session, row, report)
        if problem:
            report.rejected.append((line, problem))
    return report


def _import_row(session: Session, row: dict[str, str | None], report: ImportReport) -> str | None:
    raw_code = (row.get("codice_fiscale") or "").strip()
    code = normalise_code(raw_code)
    if code is None:
        return f"invalid codice fiscale or partita IVA {raw_code!r}"
    name = " ".join((row.get("name") or "").split())
    if not name:
        return "empty name"
    wanted: set[tuple[str, str]] = set()
    for kind in ADDRESS_COLUMNS:
        for address in _split_addresses(row.get(kind) or ""):
            if not looks_like_address(address):
                return f"{kind}: {address!r} is not an email address"
            wanted.add((address, kind))

    taxpayer = session.exec(select(Taxpayer).where(Taxpayer.codice_fiscale == code)).first()
    is_new = taxpayer is None
    if taxpayer is None:
        taxpayer = Taxpayer(codice_fiscale=code, name=name)
        session.add(taxpayer)
        session.flush()
    assert taxpayer.id is not None
    current = {
        (a.address, a.kind): a
        for a in session.exec(
            select(TaxpayerAddress).where(TaxpayerAddress.taxpayer_id == taxpayer.id)
        )
    }
    for key in set(current) - wanted:
        session.delete(current[key])
    for address, kind in wanted - set(current):
        session.add(TaxpayerAddress(taxpayer_id=taxpayer.id, address=address, kind=kind))
    if is_new:
        report.added += 1
    elif taxpayer.name != name or set(current) != wanted:
        taxpayer.name = name
        taxpayer.updated_at = utcnow()
        report.updated += 1
    else:
        report.unchanged += 1
    return None


def taxpayers_with_address(session: Session, address: str) -> list[int]:
    query = (
        select(TaxpayerAddress.taxpayer_id)
        .where(TaxpayerAddress.address == normalise_address(address))
        .distinct()
        .order_by(col(TaxpayerAddress.taxpayer_id))
    )
    return list(session.exec(query))
