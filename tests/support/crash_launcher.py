"""Runs the mailbot CLI with a hard crash (os._exit, no clean-up, like SIGKILL) injected at a
labelled point (crash_points.POINTS): MAILBOT_TEST_CRASH_AT="label:N:when" crashes on the Nth
call, before the call ("before") or after it returns ("after"), e.g. "open-work-order:3:after".
Test-only: nothing in mailbot knows about it."""

import asyncio
import os
import sys

from crash_points import POINTS

label, nth, when = os.environ["MAILBOT_TEST_CRASH_AT"].split(":")
owner, name = POINTS[label]
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
