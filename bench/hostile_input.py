"""The worst messages an attacker can send under the size cap, on the embedded default
(Maildir + SQLite): how long `mailbot run --once` takes on each and how much memory it peaks at.

    uv run python bench/hostile_input.py

Each message runs alone in a fresh `mailbot run --once` (a child process), so the figures are
that message's own: wall seconds and peak resident set (the child's ru_maxrss). Goals (issue
20): the nested-HTML message under 2 s, every message under the cap below 250 MB.
"""

from __future__ import annotations

import argparse
import mailbox
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.app import write_config  # noqa: E402

HEAD = (
    "From: Mario Bianchi <mario.bianchi@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
    "Subject: {subject}\r\nMessage-ID: <hostile-{n}@example.net>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: {ctype}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
)


def nested_html(depth: int) -> bytes:
    body = "<html><body>" + "<div>" * depth + "buca in via Verdi" + "</div>" * depth
    return (HEAD.format(subject="Nidificato", n=depth, ctype="text/html") + body).encode()


def big_body(megabytes: int, ctype: str) -> bytes:
    line = "segnalo una buca profonda davanti al civico 12 di via Verdi, pericolosa. "
    if ctype == "text/html":
        line = f"<p>{line}</p>"
    body = (line + "\r\n") * (megabytes * 1024 * 1024 // (len(line) + 2))
    return (HEAD.format(subject=f"{megabytes} MB", n=megabytes, ctype=ctype) + body).encode()


# A wrapper process per run: its RUSAGE_CHILDREN maximum is that one run's peak alone.
_MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_one(raw: bytes, extra: str = "") -> tuple[float, float, str]:
    with tempfile.TemporaryDirectory(prefix="mailbot-hostile-") as tmp:
        base = Path(tmp)
        box = mailbox.Maildir(base / "maildir", create=True)
        box.add(raw)
        config = write_config(base / "mailbot.toml", transport="directory", extra=extra)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, sys.executable, "-m", "mailbot", "--config",
             str(config), "--log-level", "WARNING", "run", "--once"],
            capture_output=True, text=True, cwd=REPO, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        code, peak_kb = done.stdout.split()
        return seconds, int(peak_kb) / 1024, "ok" if code == "0" else f"exit {code}"


def big_attachment(megabytes: int) -> bytes:
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Mario Bianchi <mario.bianchi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = f"Allegato di {megabytes} MB"
    msg["Message-ID"] = f"<hostile-attachment-{megabytes}@example.net>"
    msg.set_content("Segnalo una buca, foto allegata.")
    msg.add_attachment(
        b"\x89PNG" * (megabytes * 1024 * 256), maintype="image", subtype="png", filename="foto.png"
    )
    return msg.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--megabytes", type=int, default=24)
    args = parser.parse_args()
    cases: dict[str, bytes | tuple[bytes, str]] = {
        f"HTML nested {args.depth:,} deep ({len(nested_html(args.depth)) / 1e6:.1f} MB)": (
            nested_html(args.depth)
        ),
        f"text/plain body of {args.megabytes} MB": big_body(args.megabytes, "text/plain"),
        f"text/html body of {args.megabytes} MB": big_body(args.megabytes, "text/html"),
        f"an attachment of {args.megabytes - 6} MB (base64)": big_attachment(args.megabytes - 6),
        f"the same, accepted and forwarded (max_attachment_mb = {args.megabytes})": (
            big_attachment(args.megabytes - 6),
            f"[limits]\nmax_attachment_mb = {args.megabytes}\n",
        ),
        "a small complaint (baseline)": big_body(0, "text/plain") + b"Buca in via Verdi.\r\n",
    }
    for label, case in cases.items():
        raw, extra = case if isinstance(case, tuple) else (case, "")
        seconds, peak_mb, status = run_one(raw, extra)
        print(f"{label:<58} {seconds:6.2f} s   peak RSS {peak_mb:6.0f} MB   {status}")


if __name__ == "__main__":
    main()
