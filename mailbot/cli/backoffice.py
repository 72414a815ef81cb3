"""`mailbot backoffice`: the staff's back office ([backoffice] listen) served in the foreground,
for a unit of its own (`mailbot run` serves it too); `mailbot backoffice link ADDRESS` prints a
one-time sign-in link for a member of the staff directory (for an admin, or the demo)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mailbot.cli.app import _group, app, daemon_services, echo, load_settings, open_engine
from mailbot.cli.app import services_for as _services_for
from mailbot.errors import ConfigError, InputError

if TYPE_CHECKING:
    from mailbot.services import Services

_NOT_SET = 'backoffice.listen: not set, so there is no back office (e.g. "127.0.0.1:8026")'
backoffice_app = _group(
    "Serve the staff's back office ([backoffice] listen) in the foreground (`mailbot run` "
    "serves it too); `link` prints a one-time sign-in link for a staff member."
)
backoffice_app.info.invoke_without_command = True
backoffice_app.info.no_args_is_help = False
app.add_typer(backoffice_app, name="backoffice")


@backoffice_app.callback()
def backoffice(ctx: typer.Context) -> None:
    """Serve only the back office ([backoffice] listen), in the foreground.

    `mailbot run` serves it too when [backoffice] listen is set: use this for a separate unit.
    What its pages queue (sign-in links, replies, forwards) is sent at once (and by the daemon,
    if one runs)."""
    if ctx.invoked_subcommand is not None:
        return
    services = daemon_services()
    if not services.settings.backoffice.enabled:
        raise ConfigError(_NOT_SET)
    from mailbot import runtime
    from mailbot.backoffice.app import create_app
    from mailbot.backoffice.context import send_at_once
    from mailbot.web.server import serve

    def create(current: Callable[[], Services]) -> Any:
        made = create_app(current)
        send_at_once(made, lambda: runtime.deliver_now(current()))
        return made

    serve(services, "backoffice", create)


@backoffice_app.command("link")
def backoffice_link(
    address: Annotated[str, typer.Argument(help="The member's address, as the directory has it.")],
    next_path: Annotated[
        str, typer.Option("--next", help="The page to land on after signing in (a path).")
    ] = "/",
) -> None:
    """Print a fresh one-time sign-in link (good once, for [backoffice] link_minutes)."""
    from mailbot.backoffice import links

    settings = load_settings()
    if not settings.backoffice.enabled:
        raise ConfigError(_NOT_SET)
    services = _services_for(settings, open_engine(settings))
    token = links.issue(services, address, next_path)
    if token is None:
        raise InputError(f"{address}: not a member of the staff directory (mailbot staff list)")
    echo(links.url(services, token))
