"""structlog set-up and the masking of personal data in logs.

Off a terminal (journald, files) every line is JSON with a UTC timestamp, as services have
always logged. On a terminal the lines are readable text, timed in the configured time zone
(`use_timezone`, once the config is read), in colour unless NO_COLOR is set to anything
(https://no-color.org).
Only entry points call `configure`. Everything else gets a logger with `get_logger` and binds
mailbox, UID and Message-ID through structlog's contextvars, so every line carries them.
Email addresses and codici fiscali are masked by a processor, whatever key they sit under.

structlog (with what it pulls in, ~0.25 s) is imported when the first logger is asked for, not
by `configure`: a command that logs nothing (`mailbot workorders --help`) never pays for it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import MutableMapping
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

_ADDRESS = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_CODICE_FISCALE = re.compile(r"\b([A-Za-z]{3})[A-Za-z0-9]{10}([A-Za-z0-9]{3})\b")
# Message-IDs look like addresses: ours are signed and, read whole from a log, would let
# anyone answer as the office; others may hold the sender's address. Each is shown as its
# start, a short digest (to follow one message through the log) and its domain.
_MESSAGE_ID_KEYS = frozenset({"message_id", "original", "reference", "in_reply_to"})
_UNMASKED_KEYS = frozenset({"event_id"})


def mask_message_id(value: str) -> str:
    """<mb.2026-000001.c.0011aabb.0123…@comune.it> → <mb.2026-0…#3fa2c1@comune.it>"""
    import hashlib  # here: not a cost of every command that imports this module

    local, at, domain = value.strip().strip("<>").rpartition("@")
    if not at:
        local, domain = domain, ""
    digest = hashlib.sha256(value.strip().encode()).hexdigest()[:6]
    return f"<{local[:9]}…#{digest}{'@' + domain if domain else ''}>"


def mask_address(address: str) -> str:
    """mario.rossi@comune.it → m***@comune.it"""
    return _ADDRESS.sub(r"\1***@\2", address)


def mask_text(text: str) -> str:
    """Mask every address and codice fiscale in free text."""
    return _CODICE_FISCALE.sub(r"\1**********\2", mask_address(text))


def _mask_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if key in _MESSAGE_ID_KEYS and isinstance(value, str):
            event[key] = mask_message_id(value)
        elif key not in _UNMASKED_KEYS:
            event[key] = _masked(value)
    return event


def _masked(value: Any) -> Any:
    """Strings anywhere in the value, also inside lists and dicts (counts, recipient lists)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


_configured: list[tuple[str, bool | None]] = [("INFO", None)]  # the last `configure` call
_console_zone: list[tzinfo | None] = [None]  # None: the machine's own, until the config says


def configure(level: str = "INFO", json: bool | None = None) -> None:
    """JSON lines when not on a terminal (journald, files), readable console output otherwise;
    written to the stderr of the moment. Applied at once if structlog is loaded, else when the
    first logger is asked for."""
    _configured[0] = (level, json)
    on_terminal = sys.stderr.isatty()
    colors = on_terminal and not os.environ.get("NO_COLOR")
    _pending[0] = (level, not on_terminal if json is None else json, colors, sys.stderr)
    if "structlog" in sys.modules:
        _structlog()


_pending: list[tuple[str, bool, bool, TextIO] | None] = [None]  # configured, not yet applied


def _import_structlog() -> Any:
    """structlog without rich: structlog formats a console exception with rich whenever it can
    import it (it is installed for the command line's help), and loading rich's traceback
    machinery cost each of the daemon's processes ~5 MB for a format its JSON lines never
    use (issue 32). A None in `sys.modules` makes that import fail while structlog loads; a
    console exception is then formatted as Python's own traceback."""
    if "structlog" in sys.modules or "rich" in sys.modules:
        import structlog

        return structlog
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import structlog
    finally:
        del sys.modules["rich"]
    return structlog


def _structlog() -> Any:
    """structlog, with the last `configure` applied."""
    import logging

    structlog = _import_structlog()
    if _pending[0] is None:
        return structlog
    level, json, colors, stream = _pending[0]
    _pending[0] = None
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=colors)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True) if json else _local_time,
            structlog.processors.format_exc_info,
            _mask_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    return structlog


def use_timezone(zone: tzinfo) -> None:
    """Console lines are timed in this zone from now on (the config's `timezone`)."""
    _console_zone[0] = zone


def _local_time(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    now = datetime.now(_console_zone[0]) if _console_zone[0] else datetime.now().astimezone()
    event["timestamp"] = now.strftime("%Y-%m-%d %H:%M:%S")
    return event


def configuration() -> tuple[str, bool | None]:
    """The last `configure` arguments, for a child process to log as its parent does."""
    return _configured[0]


def get_logger(name: str) -> Any:
    return _structlog().get_logger(name)


def bind_message(**values: Any) -> AbstractContextManager[None]:
    """Every line logged inside the block carries `values` (mailbox, UID, Message-ID)."""
    return _structlog().contextvars.bound_contextvars(**values)  # type: ignore[no-any-return]


def bind_case(number: str) -> None:
    """The message in hand belongs to this case: every further line about it says so. Reset
    with the rest when `bind_message` ends (it bound `work_order` first)."""
    _structlog().contextvars.bind_contextvars(work_order=number)
