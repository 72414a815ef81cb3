"""`mailbot check`: loads the config, then prints each of admin.doctor's checks as one line;
exit 2 when the config cannot be read
(as for every command), 1 when any check failed. A configuration that loads but may not mean
what it says is a WARN line (admin.doctor.config_warnings), which fails nothing.
"""

from __future__ import annotations

import typer

from mailbot import log
from mailbot.cli.app import (
    State,
    app,
    echo,
)
from mailbot.errors import ConfigError


@app.command()
def check() -> None:
    """Check config, database, storage, every mailbox and the SMTP relay: one line each."""
    from mailbot import config as config_module
    from mailbot.admin.doctor import Check, config_warnings, run_checks

    results: list[Check] = []
    path = config_module.config_path(State.config)
    try:
        settings = config_module.load(path)
    except ConfigError as exc:
        echo(f"FAIL  config: {exc}")
        raise typer.Exit(ConfigError.exit_code) from None
    log.use_timezone(settings.timezone)
    results.append(
        (
            True,
            "config",
            f"{path} ({len(settings.mailboxes)} mailbox(es), {len(settings.offices)} office(s))",
        )
    )
    warnings = config_warnings(settings)
    results.extend(run_checks(settings))
    for ok, what, detail in results[:1]:
        echo(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}")
    for what, detail in warnings:
        echo(f"WARN  {what}: {detail}")
    for ok, what, detail in results[1:]:
        echo(f"{'ok  ' if ok else 'FAIL'}  {what}: {detail}")
    if not all(ok for ok, _, _ in results):
        raise typer.Exit(1)
