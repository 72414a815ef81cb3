"""What a message is about, read from its bytes alone: the certified envelope if any, and the
parsed mail inside or the mail itself. It reads no table and imports no database module, so
the read-ahead process (`runtime.readahead`) can run it without loading the ORM; there it also
peeks at the header block for the ledger and asks the upstream filters' headers about spam.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config import SpamSettings
from mailbot.ingest import parse, pec, spam
from mailbot.ingest.peek import Peek, peek
from mailbot.types import ParsedMessage

Read = tuple[pec.Pec | None, ParsedMessage | None]  # what the case is about: None for a receipt


@dataclass(frozen=True)
class Ahead:
    """A message stored and read before its turn (`runtime.readahead`): its digest in the store,
    what it says, its header block's peek and the upstream filters' spam verdict (`judged`:
    asked, under the run's [spam] settings); the pipeline then does none of it again."""

    digest: str
    read: Read
    peeked: Peek | None = None
    filtered: spam.Verdict | None = None  # the filters' headers' verdict, when `judged`
    judged: bool = False


def ahead(digest: str, raw: bytes, settings: SpamSettings | None) -> Ahead:
    """All that can be known of a message before its transaction, from its bytes alone."""
    verdict = spam.header_verdict(raw, settings) if settings is not None else None
    return Ahead(digest, read(raw), peek(raw), verdict, judged=settings is not None)


def read(raw: bytes) -> Read:
    certified = pec.detect(raw)
    if certified is not None and (certified.is_receipt or certified.inner is None):
        return certified, None  # a PEC receipt, or an anomaly with no message inside
    return certified, opened(raw, certified)


def opened(raw: bytes, certified: pec.Pec | None) -> ParsedMessage:
    """What a case is about: the message inside a certified envelope or anomaly, else the mail
    itself. `admin.rematch` reads a stored original again through this and `sender_evidence`."""
    return parse.parse(certified.inner if certified and certified.inner else raw)
