"""Deliver .eml files into a Maildir as a mail server would (new/, unique names): demo helper.

Usage: python scripts/deliver_samples.py SOURCE_DIR MAILDIR
"""

import mailbox
import sys
from pathlib import Path


def main() -> None:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(target, create=True)
    files = sorted(source.glob("*.eml"))
    for path in files:
        box.add(mailbox.MaildirMessage(path.read_bytes()))
    print(f"delivered {len(files)} message(s) into {target}")


if __name__ == "__main__":
    main()
