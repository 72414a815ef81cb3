#!/usr/bin/env python3
"""A protocol register of the test suite's own, for `[protocol] adapter = "command"`: run in
mailbot's work directory, it keeps a counter in STATE/counter, copies what it was given to
STATE/seen-N/ (metadata.json and the documents), and answers
{"numero": "000000N", "data": <the date received, or sent for a reply>}. STATE/mode, when present, makes it
misbehave: "fail" (exit 2 with a message), "hang" (writes STATE/hanging, then sleeps past any
timeout), "garbage" (an answer that is not JSON).

Usage: fake_register.py --state DIR
"""

import json
import shutil
import sys
import time
from pathlib import Path


def main() -> int:
    state = Path(sys.argv[sys.argv.index("--state") + 1])
    mode_file = state / "mode"
    mode = mode_file.read_text().strip() if mode_file.exists() else "ok"
    if mode == "fail":
        print("registro non disponibile (manutenzione)", file=sys.stderr)
        return 2
    if mode == "hang":
        (state / "hanging").write_text("")  # a test waits for this, not for a guessed time
        time.sleep(600)
        return 0
    if mode == "garbage":
        print("<html>502 Bad Gateway</html>")
        return 0
    metadata = json.loads(Path("metadata.json").read_text(encoding="utf-8"))
    counter = state / "counter"
    number = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(number))
    shutil.copytree(Path.cwd(), state / f"seen-{number}")
    when = metadata.get("received_date") or metadata["sent_date"]
    print(json.dumps({"numero": f"{number:07d}", "data": when}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
