"""Runs the mailbot CLI with a hard crash (os._exit, no clean-up, like SIGKILL) injected at a
named point: MAILBOT_TEST_CRASH_AT="module:attribute:N" crashes on the Nth call, before
the call ("before") or after it returns ("after"), e.g. "mailbot.cases.workorders:open_work_order:3:after".
Test-only: nothing in mailbot knows about it."""

import asyncio
import importlib
import os
import sys

module_name, attribute, nth, when = os.environ["MAILBOT_TEST_CRASH_AT"].split(":")
owner_name, _, method = attribute.partition(".")
module = importlib.import_module(module_name)
owner = getattr(module, owner_name) if method else module
name = method or attribute
original = getattr(owner, name)
calls = 0


def _maybe_crash(stage: str) -> None:
    global calls
    if stage == "before":
        calls += 1
    if calls == int(nth) and stage == when:
        sys.stdout.flush()
        os._exit(137)


if asyncio.iscoroutinefunction(original):

    async def wrapper(*args, **kwargs):
        _maybe_crash("before")
        result = await original(*args, **kwargs)
        _maybe_crash("after")
        return result

else:

    def wrapper(*args, **kwargs):
        _maybe_crash("before")
        result = original(*args, **kwargs)
        _maybe_crash("after")
        return result


setattr(owner, name, wrapper)

from mailbot.cli import main  # noqa: E402

sys.argv = ["mailbot", *sys.argv[1:]]
main()
