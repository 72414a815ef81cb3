"""Reading a registry export, CSV or JSON Lines, one record at a time (a million-row file is
never held in memory).

Encoding: given, or detected over the whole file before reading (UTF-8 with or without BOM,
else Windows-1252, else Latin-1: Italian exports are often one of the last two). Delimiter:
given, or the one of `,` `;` tab `|` that the header line uses most. Columns are matched by
name, case-insensitively, through `[registry.columns]`. Each record keeps the line it starts
on, so a rejection names the line an admin will find in the file (a quoted field may span
several lines).
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from mailbot.config import REGISTRY_FIELDS, RegistrySettings
from mailbot.errors import InputError

_CHUNK = 1 << 20
DELIMITERS = (",", ";", "\t", "|")


class Record(NamedTuple):
    line: int
    code: str
    name: str
    emails: tuple[str, ...]
    pecs: tuple[str, ...]
    postal_address: str


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str


def detect_encoding(path: Path) -> str:
    """utf-8-sig when every byte decodes as UTF-8, else cp1252, else latin-1."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def check_readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def file_format(path: Path, given: str | None) -> str:
    if given:
        if given not in ("csv", "jsonl"):
            raise InputError(f"--format: expected csv or jsonl, got {given!r}")
        return given
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def read(
    path: Path,
    settings: RegistrySettings,
    *,
    fmt: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Iterator[Record | Problem]:
    """Every record of the file, or the problem that makes a line unusable."""
    try:
        chosen = encoding or settings.encoding or detect_encoding(path)
        handle = path.open(encoding=chosen, newline="", errors="strict")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except LookupError:
        raise InputError(f"--encoding: unknown encoding {encoding!r}") from None
    with handle:
        try:
            if file_format(path, fmt) == "jsonl":
                yield from _jsonl(handle, settings)
            else:
                yield from _csv(handle, settings, delimiter or settings.delimiter, path)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not {chosen}: {exc.reason} at byte {exc.start}") from None


def _csv(
    handle: IO[str], settings: RegistrySettings, delimiter: str, path: Path
) -> Iterator[Record | Problem]:
    header_line = handle.readline()
    if not header_line.strip():
        raise InputError(f"{path}: empty file, or no header line")
    sep = delimiter.replace("\\t", "\t") or max(DELIMITERS, key=header_line.count)
    header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=sep))]
    positions = _positions(header, settings, path)
    reader = csv.reader(handle, delimiter=sep)
    width = len(header)
    start = 2
    for fields in reader:
        line, start = start, reader.line_num + 2
        if len(fields) > width:
            yield Problem(line, f"{len(fields)} fields, the header has {width}")
            continue
        row = fields
        if len(row) < width:
            if not any(cell.strip() for cell in row):
                continue
            row = row + [""] * (width - len(row))
        yield _record(line, [[row[i] for i in idx] for idx in positions])


def _positions(header: list[str], settings: RegistrySettings, path: Path) -> list[list[int]]:
    """For each field, in `REGISTRY_FIELDS` order, the header positions that hold it."""
    positions = [
        [header.index(c) for c in settings.columns[name] if c in header] for name in REGISTRY_FIELDS
    ]
    missing = [
        "/".join(settings.columns[name])
        for name, found in zip(REGISTRY_FIELDS, positions, strict=True)
        if name in ("codice_fiscale", "name") and not found
    ]
    if missing:
        raise InputError(
            f"{path}: no column {' or '.join(missing)} in the header ({', '.join(header)}); "
            "map the export's columns in [registry.columns]"
        )
    return positions


def _jsonl(handle: IO[str], settings: RegistrySettings) -> Iterator[Record | Problem]:
    for number, text in enumerate(handle, start=1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Problem(number, f"not JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(item, dict):
            yield Problem(number, "not a JSON object")
            continue
        lowered = {str(k).strip().lower(): v for k, v in item.items()}
        yield _record(
            number,
            [
                [v for c in settings.columns[name] for v in _strings(lowered.get(c))]
                for name in REGISTRY_FIELDS
            ],
        )


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _record(line: int, values: list[list[str]]) -> Record:
    """`values`: what the columns of each field hold, in `REGISTRY_FIELDS` order."""
    codes, names, emails, pecs, postal = values
    code = next((c.strip() for c in codes if c.strip()), "")
    return Record(
        line,
        code,
        " ".join(" ".join(names).split()),
        tuple(split_addresses(" ".join(emails))),
        tuple(split_addresses(" ".join(pecs))),
        ", ".join(" ".join(v.split()) for v in postal if v.strip()),
    )


def split_addresses(value: str) -> list[str]:
    """Several addresses in one field, separated by blanks, `;` or `,`."""
    return value.replace(";", " ").replace(",", " ").split()
