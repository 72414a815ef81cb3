"""`mailbot actions list|verify`: the corrective actions operators recorded with `#azione`,
and their check (UNI 10600's monitoring step)."""

from __future__ import annotations

from typing import Annotated

import typer

from mailbot.cli.app import (
    JsonOption,
    OperatorOption,
    actions_app,
    echo,
    load_settings,
    open_engine,
    print_json,
    print_table,
)


@actions_app.command("list")
def actions_list(
    as_json: JsonOption = False,
    open_only: Annotated[bool, typer.Option("--open", help="Only those not verified yet.")] = False,
) -> None:
    """Corrective actions, oldest first, with their case and whether they were verified."""
    from mailbot import db
    from mailbot.cases import register

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        rows = [
            register.action_view(a, n, settings.timezone)
            for a, n in register.actions(session, open_only=open_only)
        ]
    if as_json:
        print_json(rows)
        return
    columns = [("ID", 5), ("CASE", 12), ("RECORDED", 10), ("VERIFIED", 10), ("ACTION", 70)]
    cells = [
        (str(r["id"]), r["number"], r["at"][:10], (r["verified_at"] or "")[:10], r["text"])
        for r in rows
    ]
    print_table(columns, cells, f"{len(rows)} corrective action(s)")


@actions_app.command("verify")
def actions_verify(
    action_id: Annotated[int, typer.Argument(metavar="ID", help="The action's id (actions list).")],
    operator: OperatorOption,
    note: Annotated[str, typer.Option("--note", help="What the check found.")] = "",
) -> None:
    """Record that a corrective action was carried out and checked."""
    from mailbot import db
    from mailbot.cases import register

    settings = load_settings()
    with db.unit_of_work(open_engine(settings)) as session:
        action = register.verify_action(session, action_id, operator, note)
        echo(f"corrective action {action.id}: verified by {operator}")
