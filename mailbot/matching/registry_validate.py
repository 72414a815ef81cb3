"""The reading side of a registry import: every record of the export validated (codes, addresses,
names), turned into an `Entry` with what the database side needs already computed, in chunks;
a large file is read and validated in a second process while the first writes.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from queue import Empty
from typing import Any, NamedTuple

from mailbot.config import RegistrySettings
from mailbot.errors import InputError
from mailbot.matching import registry_file
from mailbot.matching.codes import name_tokens, normalise_code
from mailbot.matching.registry_file import Problem, Record
from mailbot.types import looks_like_address, normalise_address

CHUNK = 2000


class Entry(NamedTuple):
    """One usable record, with everything the database side needs already computed (it is
    built in the reading process; a tuple crosses the process boundary cheaply)."""

    line: int
    code: str
    name: str
    postal_address: str
    addresses: tuple[tuple[str, str], ...]  # (address, "email" | "pec")
    tokens: tuple[str, ...]
    digest: str


def _digest(name: str, postal: str, addresses: tuple[tuple[str, str], ...]) -> str:
    text = "\x1f".join([name, postal, *(f"{k}:{a}" for a, k in addresses)])
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _validate(record: Record) -> Entry | str:
    code = normalise_code(record.code)
    if code is None:
        shown = record.code or "(empty)"
        return f"invalid codice fiscale or partita IVA {shown!r} (check characters)"
    name = record.name  # blanks already folded by the reader
    if not name:
        return "empty name"
    addresses: set[tuple[str, str]] = set()
    for kind, values in (("pec", record.pecs), ("email", record.emails)):
        for value in values:
            address = normalise_address(value)
            if not looks_like_address(address):
                return f"{kind}: {value!r} is not an email address"
            if (address, "pec") not in addresses:  # listed as both: it is a PEC box
                addresses.add((address, kind))
    name = name[:255]
    found = tuple(sorted(addresses))
    return Entry(
        record.line,
        code,
        name,
        record.postal_address,
        found,
        tuple(name_tokens(name)),
        _digest(name, record.postal_address, found),
    )


Chunk = list[Entry | tuple[int, str]]  # usable entries, and (line, reason) rejections


def validated(records: Iterable[Record | Problem]) -> Iterator[Chunk]:
    """The reading side: records validated, in chunks; a code seen twice is a rejection."""
    seen: dict[str, int] = {}  # code → first line
    iterator: Iterator[Record | Problem] = iter(records)
    while chunk := list(islice(iterator, CHUNK)):
        out: Chunk = []
        for item in chunk:
            result = _validate(item) if isinstance(item, Record) else item.reason
            if isinstance(result, str):
                out.append((item.line, result))
            elif result.code in seen:
                out.append((item.line, f"{result.code} already on line {seen[result.code]}"))
            else:
                seen[result.code] = item.line
                out.append(result)
        yield out


PARALLEL_FROM_BYTES = 8 * 1024 * 1024


@contextmanager
def read_chunks(
    path: Path, settings: RegistrySettings, options: dict[str, Any]
) -> Iterator[Iterator[Chunk]]:
    """The file's chunks, validated; from `PARALLEL_FROM_BYTES` on, by a second process, while
    the caller writes: the two halves cost about the same, and the machine has two cores."""
    if path.stat().st_size < PARALLEL_FROM_BYTES:
        yield validated(registry_file.read(path, settings, **options))
        return
    context = multiprocessing.get_context("spawn")  # a clean child: no engine, no sockets
    queue: Any = context.Queue(maxsize=8)
    reader = context.Process(target=_read_into, args=(path, settings, options, queue), daemon=True)
    reader.start()
    try:
        yield _drain(queue, reader)
    finally:
        if reader.is_alive():
            reader.terminate()
        reader.join(timeout=10)


def _read_into(path: Path, settings: RegistrySettings, options: dict[str, Any], queue: Any) -> None:
    """The reading process: chunks onto the queue, then None; a problem with the file goes
    over as its message. Without the cycle collector: a short-lived process that makes
    millions of tuples and no cycles, which the collector would walk again and again."""
    gc.disable()
    try:
        for chunk in validated(registry_file.read(path, settings, **options)):
            queue.put(chunk)
    except InputError as exc:
        queue.put(str(exc))
        return
    queue.put(None)


def _drain(queue: Any, reader: Any) -> Iterator[Chunk]:
    while True:
        try:
            item = queue.get(timeout=5)
        except Empty:
            if not reader.is_alive():
                raise InputError(
                    f"the registry reader stopped (exit code {reader.exitcode})"
                ) from None
            continue
        if item is None:
            return
        if isinstance(item, str):
            raise InputError(item)
        yield item
