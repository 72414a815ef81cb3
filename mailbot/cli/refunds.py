"""`mailbot refunds list|pay|refuse`: the refunds the charter owes (cases/refunds.py), and their
settlement by an admin."""

from __future__ import annotations

from typing import Annotated

import typer

from mailbot.cli.app import (
    JsonOption,
    OperatorOption,
    echo,
    load_settings,
    open_engine,
    print_json,
    print_table,
    refunds_app,
)
from mailbot.errors import InputError

RefundId = Annotated[int, typer.Argument(metavar="ID", help="The refund's id (refunds list).")]


@refunds_app.command("list")
def refunds_list(
    as_json: JsonOption = False,
    state: Annotated[
        str | None, typer.Option("--state", help="Only these: due, paid or refused.")
    ] = None,
) -> None:
    """Refunds, oldest first: what is owed now (doubled past its term), by when, the case's
    missed-term cause, and how they were settled."""
    from mailbot import db
    from mailbot.cases import refunds

    if state is not None and state not in refunds.STATES:
        raise InputError(f"--state: {state!r} is not one of {', '.join(refunds.STATES)}")
    settings = load_settings()
    factor = settings.charter.refund_late_factor
    with db.unit_of_work(open_engine(settings)) as session:
        found = refunds.refunds(session, state=state)
        cause = refunds.causes(session, {r.work_order_id for r, _ in found})
        rows = [
            refunds.view(r, n, settings.timezone, factor, cause.get(r.work_order_id, ""))
            for r, n in found
        ]
    if as_json:
        print_json(rows)
        return
    columns = [
        ("ID", 5),
        ("CASE", 12),
        ("REASON", 8),
        ("STATE", 8),
        ("OWED", 24),
        ("PAY BY", 10),
        ("CAUSE", 19),
        ("NOTE", 40),
    ]
    cells = [
        (
            str(r["id"]),
            r["number"],
            r["reason"],
            "overdue" if r["overdue"] else r["state"],
            r["compensation"] or f"{r['owed_eur']:.2f} EUR",
            r["pay_by"],
            r["missed_term_cause"] or "",
            r["note"] or "",
        )
        for r in rows
    ]
    print_table(columns, cells, f"{len(rows)} refund(s)")


@refunds_app.command("pay")
def refunds_pay(
    refund_id: RefundId,
    operator: OperatorOption,
    reference: Annotated[
        str, typer.Option("--reference", help="The payment's reference (bill, transfer).")
    ] = "",
) -> None:
    """Record a refund paid (or the compensation given) today, at what it is worth today."""
    from mailbot import db
    from mailbot.cases import refunds

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        refund = refunds.pay(session, refund_id, operator, reference, settings)
        what = refund.compensation or f"{refund.paid_eur:.2f} EUR"
        echo(f"refund {refund.id}: paid ({what}) by {operator}")


@refunds_app.command("refuse")
def refunds_refuse(
    refund_id: RefundId,
    operator: OperatorOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not owed (required).")] = "",
) -> None:
    """Record that a refund is not owed, with the reason (an exclusion of the charter)."""
    from mailbot import db
    from mailbot.cases import refunds

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        refund = refunds.refuse(session, refund_id, operator, reason)
        echo(f"refund {refund.id}: refused by {operator}")
