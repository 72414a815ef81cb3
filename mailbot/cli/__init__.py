"""The `mailbot` command: thin. Parse arguments, call one service function, print, and map
`MailbotError` to a one-line message and an exit code (2 for configuration and usage, 75 for
outages, 1 otherwise). No tracebacks for a user's mistake.

One module per command group; `app.py` holds the app and what the commands share. Importing
the modules registers their commands.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from typer._coercion import RuntimeParam, build_runtime_param

from mailbot.cli import (  # noqa: F401
    actions,
    admin,
    arera,
    backoffice,
    cases,
    check,
    entry,
    forward,
    inbound,
    indemnity,
    protocol,
    refunds,
    registry,
    reports,
    staff,
)
from mailbot.cli.app import State, app, echo
from mailbot.errors import MailbotError

__all__ = ["app", "main"]


def _command() -> Any:
    """The command behind `app`, its placeholders in the usual form (NUMBER, FILE, N) rather
    than the type names Typer shows by default (<str>, <list[Path]>)."""
    command = typer.main.get_command(app)

    def walk(node: Any) -> None:
        node.get_help_option = _deferring(node.get_help_option)
        for param in node.params:
            _defer(param)
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            if param.name and param.metavar is None:
                descriptor = getattr(param, "type_descriptor", None)
                choices = getattr(descriptor, "choices", None) if descriptor else None
                if getattr(descriptor, "is_choice", False) and choices:
                    param.metavar = "|".join(getattr(c, "value", str(c)) for c in choices)
                elif getattr(descriptor, "annotation", None) is int:
                    param.metavar = "N"
                else:
                    param.metavar = param.name.upper()
            if param.param_type_name == "argument":  # NUMBER, not "{number} <str>"
                shown = param.metavar if param.required else f"[{param.metavar}]"
                param.display_type_rich = lambda ctx: None
                param._usage_display_name = lambda shown=shown: shown
        for child in getattr(node, "commands", {}).values():
            walk(child)

    walk(command)
    return command


def _defer(param: Any) -> None:
    if getattr(param, "_runtime_param", False) is None:
        descriptor = param.type_descriptor
        param._runtime_param = _Deferred(descriptor.parameter_info, descriptor.annotation)


def _deferring(help_option: Any) -> Any:
    """The command's -h/--help option (made on first use) with its conversion deferred too."""

    def made(ctx: Any) -> Any:
        option = help_option(ctx)
        if option is not None:
            _defer(option)
        return option

    return made


@dataclass(frozen=True)
class _Deferred(RuntimeParam):
    """Typer converts every value it processes with a Pydantic adapter, built on first use even
    for an option left out (None), and importing Pydantic takes ~0.3 s, more than the rest of
    `mailbot workorders --help`. An option left out gives None as before and a text one its
    text (what Typer's adapter for `str` returns); any other value gets Typer's own adapter,
    the same conversion and messages, built then."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if self.annotation is str and isinstance(value, str) and self.parameter_info.parser is None:
            return value
        param._runtime_param = build_runtime_param(param.type_descriptor)
        return param._runtime_param._coerce_value(value, param=param, ctx=ctx)


def declare_package_main() -> None:
    """Started as the `mailbot` console script, say this is `python -m mailbot` (which it is):
    a process that `multiprocessing` spawns (the daemon's sender) then runs no main script
    again, and so does not load the command line (typer, click: ~9 MB) it never uses. Started
    with `-m`, Python has already said so (issue 32)."""
    script = sys.modules.get("__main__")
    if script is not None and getattr(script, "__spec__", None) is None:
        script.__spec__ = importlib.util.find_spec("mailbot.__main__")


def main() -> None:
    declare_package_main()
    # Everything mailbot creates (the SQLite file, the store, sent .eml files, exports) holds
    # personal data: private to its user, whatever umask the shell or cron gave.
    os.umask(0o077)
    State.leave_at_once = False  # set by this invocation's `run --once` only
    try:
        _command()(prog_name="mailbot")
    except SystemExit as exc:
        if State.leave_at_once and not _threads_left():
            leave(exc.code)
        raise
    except MailbotError as exc:
        echo(f"mailbot: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `mailbot workorders list | head`
        os._exit(0)


def leave(code: object) -> NoReturn:
    """Exit now: the exit handlers run (logging's flush, multiprocessing's clean-up), then the
    process ends without the interpreter freeing every module and object one by one, which
    took ~0.3 s after a `run --once` through a backlog, on every cron run."""
    if isinstance(code, str):  # what SystemExit would have printed
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _threads_left() -> bool:
    """A thread `os._exit` would cut off (the interpreter's exit joins the non-daemon ones)."""
    main = threading.main_thread()
    return any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate())
