"""Messages filed together in one transaction (group commit): the lease fence once at the
start, each message in a savepoint of its own, the mailbox cursor once at the end, one commit.

Almost every group files without a failure, so a group is first filed without the savepoints
(a SAVEPOINT and a RELEASE a message were a twentieth of filing, issue 32), each message still
flushed at its end; if any message fails, that transaction is rolled back and the group is
filed again the careful way, a savepoint each. The outcome is the same either way.

What each message does once it has its ledger row is the pipeline's (`Pending.act`); this
module knows only how a group's transaction goes. A message's permanent failure rolls back its
savepoint and is recorded as rejected or quarantined in the same transaction, and the group goes
on; an outage rolls the whole group back and propagates (nothing of it is committed, it is
fetched again, the ledger makes the replay harmless). Nothing outside the database may learn of
a message before its group committed: the caller acts on the outcomes only after `file`
returned them.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from mailbot.db import savepoint, unit_of_work, write_events
from mailbot.engine import outages
from mailbot.errors import Disposition, MailError, disposition_for
from mailbot.ingest import ledger
from mailbot.ingest.peek import Peek
from mailbot.log import get_logger
from mailbot.models import InboundMessage
from mailbot.types import LedgerStatus, Origin, Outcome

log = get_logger(__name__)

Fence = Callable[[Session], None]
Act = Callable[[Session, InboundMessage], Outcome]

CONFLICT_ATTEMPTS = 3


def _not_read(_session: Session, _entry: InboundMessage) -> Outcome:
    raise AssertionError("a message that failed before its transaction is not acted on")


@dataclass
class Pending:
    """A message stored and read, waiting for its group's transaction. `failed` is the
    permanent problem found before (the parse) or in it (then its savepoint was rolled back)."""

    origin: Origin
    peeked: Peek
    digest: str
    size: int
    act: Act = _not_read
    failed: Exception | None = None


def file(engine: Engine, fence: Fence, group: Sequence[Pending]) -> list[Outcome]:
    """The group's one transaction, committed; the outcomes in the group's order. `fence`
    runs first and raises if this instance no longer holds the mailbox (it locks the lease row
    until the commit, so the lease cannot move meanwhile): nothing is then written."""
    try:
        return _together(engine, fence, group)
    except Exception as exc:
        if disposition_for(exc) is Disposition.RETRY:
            raise
        # Lines the attempt logged stay (its rows do not); the careful pass names the message.
        log.info(
            "the group is filed again, a savepoint each", size=len(group), error=type(exc).__name__
        )
    try:
        with unit_of_work(engine) as session:
            fence(session)
            outcomes = [_one(session, pending) for pending in group]
            ledger.advance_cursor(session, group[-1].origin)  # fetched oldest first
        return outcomes
    except Exception as exc:
        if disposition_for(exc) is Disposition.RETRY:
            raise
        if len(group) > 1:  # not any one message's (its savepoint would have caught it)
            return [outcome for pending in group for outcome in file(engine, fence, [pending])]
        pending = group[0]  # the transaction failed as a whole: recorded in a fresh one
        pending.failed = exc
        with unit_of_work(engine) as session:
            fence(session)
            outcome = _record_failure(session, pending, exc)
            ledger.advance_cursor(session, pending.origin)
        return [outcome]


def _together(engine: Engine, fence: Fence, group: Sequence[Pending]) -> list[Outcome]:
    """The group in one transaction without savepoints: the first failure of any message
    rolls it all back (and propagates). Each message's rows and audit events are written at its
    end, as its savepoint's release would: the next message reads all of it."""
    outcomes: list[Outcome] = []
    with unit_of_work(engine) as session:
        fence(session)
        for pending in group:
            if pending.failed is not None:
                outcomes.append(_record_failure(session, pending, pending.failed))
                continue
            entry = ledger.record(
                session, pending.origin, peeked=pending.peeked, raw_sha256=pending.digest,
                raw_size=pending.size,
            )  # fmt: skip
            if entry is None:
                outcomes.append(
                    Outcome(LedgerStatus.IGNORED, None, reason="already seen", duplicate=True)
                )
                continue
            outcomes.append(pending.act(session, entry))
            session.flush()
            write_events(session)  # as a savepoint's release would: the next message reads them
        ledger.advance_cursor(session, group[-1].origin)  # fetched oldest first
    return outcomes


def _one(session: Session, pending: Pending) -> Outcome:
    """One message in its savepoint. Instances writing at once can collide on a unique row
    (the same Message-ID through two mailboxes, a new contact, a year's first case number): the
    loser's savepoint is rolled back and the message filed again, and then sees the winner's
    row (PostgreSQL reads committed rows statement by statement)."""
    if pending.failed is not None:
        return _record_failure(session, pending, pending.failed)
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            # A database error is an outage here too (retried, never the message's fault): as
            # the transaction's end would say, but before the savepoint could call it a failure.
            with outages(), savepoint(session):
                entry = ledger.record(
                    session, pending.origin, peeked=pending.peeked, raw_sha256=pending.digest,
                    raw_size=pending.size,
                )  # fmt: skip
                if entry is None:
                    return Outcome(
                        LedgerStatus.IGNORED, None, reason="already seen", duplicate=True
                    )
                return pending.act(session, entry)
        except IntegrityError as exc:
            if attempt == CONFLICT_ATTEMPTS:
                pending.failed = exc
                break
            log.info("concurrent write, filing again", attempt=attempt)
        except Exception as exc:
            if disposition_for(exc) is Disposition.RETRY:
                raise
            pending.failed = exc
            break
    assert pending.failed is not None
    return _record_failure(session, pending, pending.failed)


def _record_failure(session: Session, pending: Pending, exc: Exception) -> Outcome:
    """The message kept as rejected or quarantined (bytes stored, the reason on its row)."""
    status, reason, detail = failure(exc)
    entry = ledger.record(
        session, pending.origin, peeked=pending.peeked, raw_sha256=pending.digest,
        raw_size=pending.size, status=status,
    )  # fmt: skip
    if entry is not None:
        ledger.note_failure(session, entry, status, reason, detail)
    return Outcome(status, entry.id if entry else None, reason=reason)


def failure(exc: Exception) -> tuple[LedgerStatus, str, str]:
    """The ledger status, the reason and the traceback of a permanent failure."""
    status = LedgerStatus(disposition_for(exc).value)
    reason = str(exc) if isinstance(exc, MailError) else f"{type(exc).__name__}: {exc}"
    return status, reason, "".join(traceback.format_exception(exc))
