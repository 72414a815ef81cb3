"""`workorders cause` and `workorders incomplete`: what the indemnity rules exclude
(cases/indemnity.py), as the mail commands `#causa` and `#incompleto` say it."""

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


def _act(number: str, operator: str, text: str) -> None:
    from mailbot.cases.operator import operator_action

    settings = load_settings()
    echo(operator_action(services_for(settings, open_engine(settings)), number, operator, text))


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
    _act(number, operator, f"#causa {cause}\n#nota")


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
    _act(number, operator, "#incompleto no\n#nota" if undo else "#incompleto\n#nota")
