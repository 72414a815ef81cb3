"""Crash safety at length: SIGKILL `mailbot run` at random moments through a backlog on real
Dovecot and SMTP servers, restart, repeat; then count lost and duplicate cases and
confirmations.

    uv run python bench/kill_backlog.py --messages 1000 --kills 100
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.app import IMAP_PASSWORD, imap_mailbox, write_config  # noqa: E402
from support.killing import citizen, run_kills  # noqa: E402
from support.servers import Dovecot, SmtpServer, make_certificate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailbot-kill-"))
    work.chmod(0o755)
    (work / "dovecot").mkdir()
    dovecot = Dovecot(work / "dovecot", *make_certificate(work / "dovecot"))
    dovecot.add_user("box", IMAP_PASSWORD)
    smtp = SmtpServer()
    dovecot.start()
    smtp.start()
    try:
        dovecot.append("box", IMAP_PASSWORD, [citizen(i) for i in range(args.messages)])
        config = write_config(
            work / "mailbot.toml", smtp_port=smtp.port, mailbox=imap_mailbox(dovecot.port, "box")
        )
        config.write_text(config.read_text().replace("[outbox]", "[outbox]\nlease_seconds = 1"))
        started = time.monotonic()
        report = run_kills(config, smtp, messages=args.messages, kills=args.kills, seed=args.seed)
        print(report)
        print(f"took {time.monotonic() - started:.0f} s")
        print(
            f"reproduce: uv run python bench/kill_backlog.py --messages {args.messages} "
            f"--kills {args.kills} --seed {args.seed}"
        )
    finally:
        smtp.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
