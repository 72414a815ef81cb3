"""Signals reach the daemon's Control from a thread of their own, so a signal that arrives while
the main thread holds a lock (a log line being written) cannot hang the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Runs in a fresh interpreter: the main thread holds structlog's write lock for stderr (as it
# does while printing a log line) when SIGTERM arrives. A handler that logs from the main
# thread, as the old one did, waits for that lock forever and the script never ends.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from structlog._output import _get_lock_for_file  # the lock PrintLogger takes per line

    from mailbot.log import configure
    from mailbot.runtime.control import Control, Signals

    configure(json=True)
    control = Control()
    with Signals(control):
        with _get_lock_for_file(sys.stderr):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)  # the Python-level handler runs here, lock held
        assert control.stop.wait(10), "SIGTERM never reached Control"
        assert control.stopping
        control.wake.clear()
        os.kill(os.getpid(), signal.SIGHUP)
        assert control.wake.wait(10), "SIGHUP never reached Control"
        assert control.reload_requested
    # Outside the block the previous handlers are back: SIGTERM's default ends the process.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    print("done")
    """
)


def test_a_signal_during_a_log_line_is_still_taken():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"
    assert '"event": "stopping"' in done.stderr
    assert '"signal": "SIGTERM"' in done.stderr
