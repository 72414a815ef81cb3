"""What arrived: `inbound list`, the quarantine and the spam hold."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailbot.errors import NotFoundError
from mailbot.types import LedgerStatus, Outcome

if TYPE_CHECKING:
    from mailbot.config import Settings
    from mailbot.models import InboundMessage

from mailbot.cli.app import (
    InboundStatus,
    JsonOption,
    actor_name,
    echo,
    inbound_app,
    load_settings,
    local_iso,
    open_engine,
    print_json,
    print_table,
    quarantine_app,
    services_for,
    spam_app,
)


@inbound_app.command("list")
def inbound_list(
    as_json: JsonOption = False,
    mailbox: Annotated[str | None, typer.Option(help="Only this mailbox.")] = None,
    status: Annotated[InboundStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 200,
) -> None:
    """Every message the mailboxes received, newest first, and what became of it."""
    from mailbot import db
    from mailbot.ingest import ledger

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        found = ledger.entries(
            session, mailbox=mailbox, statuses=[status.value] if status else (), limit=limit
        )
    rows: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "mailbox": entry.mailbox,
            "uid": ledger.position(entry),
            "message_id": entry.message_id,
            "from": entry.sender,
            "subject": entry.subject,
            "received_at": local_iso(entry.received_at, settings),
            "status": entry.status,
            "reason": _reason(entry.reason),
            "case": number,
        }
        for entry, number in found
    ]
    if as_json:
        print_json(rows)
        return
    columns = [("ID", None), ("RECEIVED", 16), ("MAILBOX", 14), ("STATUS", 11), ("CASE", 12),
               ("FROM", 36), ("SUBJECT", 40), ("REASON", 60)]  # fmt: skip
    cells = [
        (r["id"], r["received_at"][:16], r["mailbox"], r["status"], r["case"] or "-", r["from"],
         r["subject"], r["reason"] or "-")
        for r in rows
    ]  # fmt: skip
    print_table(columns, cells, f"{len(rows)} message(s)")


def _reason(reason: str | None) -> str | None:
    """Why a mail was not filed, as the ledger says, its addresses and codici fiscali masked
    as in the logs: a spam verdict or a loop quotes headers."""
    from mailbot.log import mask_text

    return mask_text(reason) if reason else None


@quarantine_app.command("list")
def quarantine_list(as_json: JsonOption = False) -> None:
    """Quarantined (unexpected error) and rejected (unusable) messages, newest first."""
    from mailbot import db
    from mailbot.ingest import ledger

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        found = ledger.entries(session, statuses=ledger.QUARANTINE, limit=10_000)
    rows: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "mailbox": entry.mailbox,
            "uid": ledger.position(entry),
            "message_id": entry.message_id,
            "reason": _reason(entry.reason),
            "received_at": local_iso(entry.received_at, settings),
            "status": entry.status,
        }
        for entry, _ in found
    ]
    if as_json:
        print_json(rows)
        return
    columns = [("ID", None), ("STATUS", 11), ("MAILBOX", 14), ("RECEIVED", 16), ("REASON", 80)]
    cells = [(r["id"], r["status"], r["mailbox"], r["received_at"][:16], r["reason"]) for r in rows]
    print_table(columns, cells, f"{len(rows)} message(s) in quarantine")


@quarantine_app.command("show")
def quarantine_show(
    inbound_id: int,
    raw: Annotated[bool, typer.Option("--raw", help="Write the original bytes to stdout.")] = False,
) -> None:
    """One quarantined message: why, where from, and its original."""

    settings = load_settings()
    entry = _entry(settings, inbound_id)
    if entry is None:
        raise NotFoundError(f"no inbound message {inbound_id}")
    if _show_entry(entry, settings, raw):
        echo(_outcome_line(settings, entry))
        if entry.error_detail:
            echo(f"\n{entry.error_detail}")


def _report_outcome(inbound_id: int, outcome: Outcome) -> None:
    echo(
        f"{inbound_id}: {outcome.status}"
        + (f" ({outcome.work_order_number})" if outcome.work_order_number else "")
        + (f": {outcome.reason}" if outcome.reason else "")
    )


def _outcome_line(settings: Settings, entry: InboundMessage) -> str:
    """Why it is in the quarantine, or, for a message that is not, what became of it: never
    a bare "None"."""
    from mailbot import db
    from mailbot.models import WorkOrder

    if entry.status in (LedgerStatus.QUARANTINED, LedgerStatus.REJECTED):
        return f"reason: {entry.reason or 'not recorded'}"
    number = None
    if entry.work_order_id is not None:
        with db.unit_of_work(open_engine(settings)) as session:
            case = session.get(WorkOrder, entry.work_order_id)
            number = case.number if case else None
    if entry.status == LedgerStatus.FILED and number:
        return f"outcome: filed as case {number}"
    if number:
        return f"outcome: {entry.status}, case {number}" + (
            f" ({entry.reason})" if entry.reason else ""
        )
    return f"outcome: {entry.status}" + (f": {entry.reason}" if entry.reason else "")


def _entry(settings: Settings, inbound_id: int) -> InboundMessage | None:
    from mailbot import db
    from mailbot.models import InboundMessage

    with db.unit_of_work(open_engine(settings)) as session:
        return session.get(InboundMessage, inbound_id)


def _show_entry(entry: InboundMessage, settings: Settings, raw: bool) -> bool:
    """A ledger row's facts, or with `raw` its original bytes; False when the bytes went out."""
    from mailbot.storage import Store

    if raw:
        sys.stdout.buffer.write(Store(settings.storage.path).get(entry.raw_sha256))
        return False
    where = entry.uid or entry.source_ref or "-"
    echo(f"id {entry.id}  status {entry.status}  mailbox {entry.mailbox}  uid {where}")
    when = local_iso(entry.received_at, settings)
    echo(f"received {when}  {entry.raw_size} bytes  sha256 {entry.raw_sha256}")
    for label, value in (("from", entry.sender), ("subject", entry.subject),
                         ("message-id", entry.message_id)):  # fmt: skip
        echo(f"{label}: {value or '(none)'}")
    return True


@quarantine_app.command("retry")
def quarantine_retry(inbound_id: int) -> None:
    """Process a quarantined or rejected message again (after a fix), then send what is due."""
    from mailbot import runtime
    from mailbot.pipeline import retry

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    _report_outcome(inbound_id, retry(services, inbound_id))
    runtime.deliver_now(services)


@quarantine_app.command("discard")
def quarantine_discard(inbound_id: int) -> None:
    """Dismiss a message from the quarantine; its original stays in storage as evidence."""
    from mailbot import db
    from mailbot.ingest import ledger

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        ledger.discard(session, inbound_id, actor="cli")
    echo(f"{inbound_id}: discarded (original kept)")


@spam_app.command("list")
def spam_list(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.", min=1)] = 200,
) -> None:
    """Messages held as spam, newest first: who, what, and which filter said so."""
    from mailbot import db
    from mailbot.ingest import ledger

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        found = ledger.entries(session, statuses=[LedgerStatus.SPAM], limit=limit)
    rows: list[dict[str, Any]] = [
        {
            "id": entry.id,
            "mailbox": entry.mailbox,
            "received_at": local_iso(entry.received_at, settings),
            "from": entry.sender,
            "subject": entry.subject,
            "score": entry.spam_score,
            "reason": _reason(entry.reason),
        }
        for entry, _ in found
    ]
    if as_json:
        print_json(rows)
        return
    columns = [("ID", None), ("RECEIVED", 16), ("MAILBOX", 14), ("SCORE", 7), ("FROM", 36),
               ("SUBJECT", 50)]  # fmt: skip
    cells = [
        (r["id"], r["received_at"][:16], r["mailbox"],
         "-" if r["score"] is None else f"{r['score']:g}", r["from"], r["subject"])
        for r in rows
    ]  # fmt: skip
    print_table(columns, cells, f"{len(rows)} message(s) held as spam")


@spam_app.command("show")
def spam_show(
    inbound_id: int,
    raw: Annotated[bool, typer.Option("--raw", help="Write the original bytes to stdout.")] = False,
) -> None:
    """One message held as spam: the filter's verdict, and its original."""

    settings = load_settings()
    entry = _entry(settings, inbound_id)
    if entry is None or entry.status != LedgerStatus.SPAM:
        raise NotFoundError(f"no message {inbound_id} held as spam (see `mailbot spam list`)")
    if _show_entry(entry, settings, raw):
        score = "-" if entry.spam_score is None else f"{entry.spam_score:g}"
        echo(f"verdict: {entry.reason}\nscore: {score}")
        echo(f"release it with: mailbot spam release {entry.id}")


@spam_app.command("release")
def spam_release(
    inbound_id: int,
    by: Annotated[str | None, typer.Option(help="Who releases it (default: $USER).")] = None,
) -> None:
    """Not spam after all: open its case as if it had just arrived (confirmation included)."""
    from mailbot import runtime
    from mailbot.pipeline import release

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    _report_outcome(inbound_id, release(services, inbound_id, actor_name(by)))
    runtime.deliver_now(services)
