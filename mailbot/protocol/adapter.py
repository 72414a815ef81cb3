"""The protocol register's adapters: how a document of a case gets its number and date.

There is no single protocol API in Italy, so mailbot does not speak to a vendor: an adapter
takes a `Submission` (the files, as they are in the store, and the metadata the registration
needs) and answers a `Registration` or raises `AdapterError`. `manual` has no adapter (None: an
operator records the number with `#protocollo`); `command` runs the program the admin named
(`[protocol] command`, no shell) in a fresh work directory holding the documents and
`metadata.json`, and reads `{"numero": "...", "data": "YYYY-MM-DD"}` from its standard output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from mailbot.config import ProtocolSettings

METADATA = "metadata.json"
INCOMING, OUTGOING = "incoming", "outgoing"
_NUMERO = re.compile(r"[\w./\- ]{1,64}")
_SAFE_NAME = re.compile(r"[^\w.\-]+")


@dataclass(frozen=True)
class File:
    source: Path | bytes  # where the bytes are (the store), or the bytes (a reply as sent)
    filename: str  # the name the register sees (made safe, unique in the directory)
    role: str  # "original" (the received message), "attachment", "reply"
    mime_type: str
    sha256: str  # hex, checked against the bytes before the adapter runs


@dataclass(frozen=True)
class Submission:
    kind: str  # INCOMING | OUTGOING
    metadata: dict[str, Any]  # what metadata.json says besides the files
    files: tuple[File, ...]


@dataclass(frozen=True)
class Registration:
    numero: str
    data: date


class AdapterError(Exception):
    """The register did not give a number: the reason, short, for the case's record."""


class RegisterAdapter(Protocol):
    def register(self, submission: Submission) -> Registration: ...


def make_adapter(settings: ProtocolSettings) -> RegisterAdapter | None:
    """The configured adapter; None for `manual` (nothing is registered automatically)."""
    if settings.adapter == "command":
        return CommandAdapter(settings.command, settings.timeout_seconds)
    return None


class CommandAdapter:
    def __init__(self, command: tuple[str, ...], timeout_seconds: float) -> None:
        self.command = command
        self.timeout = timeout_seconds

    def register(self, submission: Submission) -> Registration:
        try:
            done = self._run(submission)
        except subprocess.TimeoutExpired:
            raise AdapterError(f"no answer within {self.timeout:g} s (stopped)") from None
        except OSError as exc:
            raise AdapterError(f"cannot run {self.command[0]}: {exc.strerror}") from None
        if done.returncode != 0:
            said = _last_line(done.stderr) or _last_line(done.stdout)
            raise AdapterError(f"exit status {done.returncode}" + (f": {said}" if said else ""))
        return parse_answer(done.stdout)

    def _run(self, submission: Submission) -> subprocess.CompletedProcess[bytes]:
        with tempfile.TemporaryDirectory(prefix="mailbot-protocol-") as tmp:
            work = Path(tmp)
            write_work_directory(work, submission)
            return subprocess.run(  # noqa: S603 (a list the admin configured, no shell)
                self.command,
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                env=_environment(work),
                check=False,
            )


def write_work_directory(work: Path, submission: Submission) -> None:
    """The documents, copied (the program may move or delete them), and metadata.json."""
    listed = []
    for file in submission.files:
        if isinstance(file.source, bytes):
            (work / file.filename).write_bytes(file.source)
        else:
            shutil.copyfile(file.source, work / file.filename)
        listed.append(
            {
                "file": file.filename,
                "role": file.role,
                "mime_type": file.mime_type,
                "sha256": file.sha256,
            }
        )
    metadata = {"kind": submission.kind, **submission.metadata, "documents": listed}
    text = json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=True)
    (work / METADATA).write_text(text + "\n", encoding="utf-8")


def safe_names(names: list[str]) -> list[str]:
    """File names a program can open without surprises, unique, in the same order."""
    seen: set[str] = {METADATA}
    out = []
    for index, name in enumerate(names, 1):
        clean = _SAFE_NAME.sub("_", Path(name).name).strip("._")[:100] or f"allegato-{index}"
        candidate, n = clean, 1
        while candidate.lower() in seen:
            n += 1
            stem, dot, ext = clean.rpartition(".")
            candidate = f"{stem}-{n}.{ext}" if dot and stem else f"{clean}-{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def parse_answer(stdout: bytes) -> Registration:
    """The program's answer: one JSON object, `numero` (text or a number) and `data`."""
    try:
        answer = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        shown = _last_line(stdout)[:80]
        raise AdapterError(f"the answer is not JSON: {shown!r}") from None
    if not isinstance(answer, dict):
        raise AdapterError('the answer is not a JSON object {"numero": …, "data": …}')
    numero = answer.get("numero")
    if isinstance(numero, int) and not isinstance(numero, bool):
        numero = str(numero)
    if not isinstance(numero, str) or not _NUMERO.fullmatch(numero.strip()):
        raise AdapterError(f"numero: expected the register's number, got {numero!r}")
    try:
        when = date.fromisoformat(str(answer.get("data")))
    except ValueError:
        raise AdapterError(f"data: expected YYYY-MM-DD, got {answer.get('data')!r}") from None
    return Registration(numero.strip(), when)


def _environment(work: Path) -> dict[str, str]:
    """Little of mailbot's environment: no database URL or passwords reach the program."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {**keep, "MAILBOT_PROTOCOL_DIR": str(work), "HOME": str(work)}


def _last_line(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip()[:200] if lines else ""
