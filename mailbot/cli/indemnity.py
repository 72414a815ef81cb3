"""`workorders cause` and `workorders incomplete`: what the indemnity rules exclude
(cases/indemnity.py), as the mail commands `#causa` and `#incompleto` say it. Each prints what
it recorded and where the late-reply indemnity stands."""

from __future__ import annotations

from typing import Annotated

import typer

from mailbot.cli.app import (
    OperatorOption,
    echo,
    load_settings,
    open_engine,
    services_for,
    workorders_app,
)


def _act(number: str, operator: str, text: str, recorded: str) -> None:
    from sqlmodel import Session

    from mailbot.cases import refunds, workorders
    from mailbot.cases.operator import operator_action

    settings = load_settings()
    services = services_for(settings, open_engine(settings))
    # The same checks and events as the mail command; its "not relayed (note)" is no news here.
    done = operator_action(services, number, operator, text)
    status = done.rpartition("; ")[2]
    with Session(services.engine) as session:
        work_order = workorders.by_number(session, number)
        late = [
            r
            for r, _ in refunds.refunds(session, work_order_id=work_order.id)
            if r.reason == "late"
        ]
    indemnity = f"; late-reply indemnity {late[-1].state}" if late else ""
    echo(f"{number}: {recorded}{indemnity}; {status}")


@workorders_app.command("cause")
def workorders_cause(
    number: str,
    cause: Annotated[
        str,
        typer.Argument(
            help="Why the term was missed: forza-maggiore (force majeure), cliente-terzi "
            "(the user or a third party) or gestore (the operator)."
        ),
    ],
    operator: OperatorOption,
) -> None:
    """Record why the case's term was missed; an excluded cause withdraws the late-reply
    indemnity still due ([charter.indemnity] excluded_causes)."""
    from mailbot.cases.indemnity import cause_of

    # A word that names no cause is refused by the command's own check, naming the causes.
    _act(
        number, operator, f"#causa {cause}\n#nota", f"missed-term cause recorded: {cause_of(cause)}"
    )


@workorders_app.command("incomplete")
def workorders_incomplete(
    number: str,
    operator: OperatorOption,
    undo: Annotated[
        bool, typer.Option("--undo", help="The complaint had the minimum data after all.")
    ] = False,
) -> None:
    """Mark the complaint as lacking the minimum data (name, supply address, address, service,
    customer code): no late-reply indemnity where the profile says so."""
    if undo:
        _act(number, operator, "#incompleto no\n#nota", "recorded: the minimum data were given")
    else:
        _act(number, operator, "#incompleto\n#nota", "recorded: the minimum data are missing")
