"""What every child process of mailbot's does at its start and at its end (the sender, the
read-ahead, the web process; all started with `spawn`). Standard library only: the read-ahead
child imports no more than the parser.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import weakref
from multiprocessing.process import BaseProcess

_PR_SET_PDEATHSIG = 1
_live: weakref.WeakSet[BaseProcess] = weakref.WeakSet()


def die_with_parent(parent: int) -> None:
    """SIGKILL when the parent dies (Linux); elsewhere the child stops at the parent's EOF."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)


def end_now() -> None:
    """The child's work is done and its files and connections are closed: exit without the
    interpreter's teardown. A `spawn` child otherwise leaves through `sys.exit`, which frees
    every module one by one: ~0.3 s for the sender (SQLAlchemy, the models), which its parent
    waits for at the end of every `run --once`."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def killed_at_exit(process: BaseProcess) -> None:
    """A started child that ignores SIGTERM (it waits for its parent's word, between two mails):
    killed if the parent exits without having stopped it (a bug, an exception through the
    daemon). Else multiprocessing's own exit handler, which only sends SIGTERM, would wait for
    it forever, and the parent would never exit. Registered here, after multiprocessing's
    handler, so it runs before it."""
    if not _live:
        atexit.unregister(_kill_left)
        atexit.register(_kill_left)
    _live.add(process)


def _kill_left() -> None:
    for process in list(_live):
        if process.is_alive():
            process.kill()  # what it sent is in its journal or resent: the crash-safe sequence
            process.join(5)
