"""The protocol register's adapters: how a document of a case gets its number and date.

There is no single protocol API in Italy, so mailbot does not speak to a vendor: an adapter
takes a `Submission` (the files, as they are in the store, and the metadata the registration
needs) and answers a `Registration` or raises `AdapterError`. `manual` has no adapter (None: an
operator records the number with `#protocollo`); `command` runs the program the admin named
(`[protocol] command`, no shell) in a fresh work directory holding the documents and
`metadata.json`, and reads `{"numero": "...", "data": "YYYY-MM-DD"}` from its standard output.
A program past its timeout, or running when mailbot stops (`stopping`), is ended: terminated,
killed after a short grace, with whatever it started (its own process group).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from mailbot.config import ProtocolSettings

METADATA = "metadata.json"
INCOMING, OUTGOING = "incoming", "outgoing"
_NUMERO = re.compile(r"[\w./\- ]{1,64}")
_SAFE_NAME = re.compile(r"[^\w.\-]+")
POLL_SECONDS = 0.2  # how often a running program's wait looks whether mailbot is stopping
GRACE_SECONDS = 2.0  # between terminating a program and killing it


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


class Interrupted(AdapterError):
    """Mailbot is stopping: the program was ended before it answered (not its failure)."""


class RegisterAdapter(Protocol):
    def register(self, submission: Submission) -> Registration: ...


def make_adapter(
    settings: ProtocolSettings, stopping: Callable[[], bool] | None = None
) -> RegisterAdapter | None:
    """The configured adapter; None for `manual` (nothing is registered automatically).
    `stopping`: true once mailbot stops, which ends a running program (`Interrupted`)."""
    if settings.adapter == "command":
        return CommandAdapter(settings.command, settings.timeout_seconds, stopping)
    return None


class CommandAdapter:
    def __init__(
        self,
        command: tuple[str, ...],
        timeout_seconds: float,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self.command = command
        self.timeout = timeout_seconds
        self.stopping = stopping or (lambda: False)

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
            with subprocess.Popen(  # noqa: S603 (a list the admin configured, no shell)
                self.command,
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_environment(work),
                start_new_session=True,  # its own process group: ended with what it started
            ) as program:
                stdout, stderr = self._wait(program)
                return subprocess.CompletedProcess(self.command, program.returncode, stdout, stderr)

    def _wait(self, program: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
        """Its output once it exits; ended past the timeout or when mailbot stops."""
        deadline = time.monotonic() + self.timeout
        while True:
            if self.stopping():
                _end(program)
                raise Interrupted("mailbot stopped before the register answered")
            left = deadline - time.monotonic()
            if left <= 0:
                _end(program)
                raise subprocess.TimeoutExpired(self.command, self.timeout)
            try:
                return program.communicate(timeout=min(POLL_SECONDS, left))
            except subprocess.TimeoutExpired:
                continue


def _end(program: subprocess.Popen[bytes]) -> None:
    """Terminated, then killed after the grace: the program and its process group."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(program.pid, sent)
        try:
            program.communicate(timeout=GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


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
