"""The `[protocol]` section: who registers the citizen's complaints in the protocol register
(DPR 445/2000 art. 53), as AgID's annex 6 identifies them in `Segnatura.xml`
(mailbot/protocol/segnatura.py): the administration's and the AOO's IPA codes, the register's
code, the administration's name, and the classification (titolario) given to complaints; and
which adapter registers them: `manual` (an operator records the number, `#protocollo`) or
`command` (a program the admin names, run on each new case: mailbot/protocol/adapter.py); how
long a confirmation waits for the number, and when a failing registration is reported."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mailbot.config.table import Table
from mailbot.errors import ConfigError

_IPA = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
_REGISTRO = re.compile(r"[A-Za-z0-9_.\-]{1,16}")  # the schema's CodiceRegistroType


@dataclass(frozen=True)
class ProtocolSettings:
    codice_ipa: str = ""  # the administration's code in IndicePA, e.g. "c_a952"
    codice_aoo: str = ""  # its homogeneous organisational area (AOO), e.g. "A952"
    codice_registro: str = "PROTOCOLLO"  # the register's code, e.g. "REG_PROT"
    denominazione: str = ""  # the administration's name, e.g. "Comune di Esempio"
    classifica: str = ""  # the titolario code complaints are filed under, e.g. "1.8"
    classifica_denominazione: str = ""  # its name, e.g. "Reclami e segnalazioni"
    # The AOO's seal (XAdES baseline B, mailbot/protocol/seal.py): a PEM private key and its
    # certificate; None: Segnatura.xml is written unsealed.
    seal_key: Path | None = None
    seal_certificate: Path | None = None
    adapter: str = "manual"  # "manual" | "command"
    command: tuple[str, ...] = ()  # the program and its arguments, run without a shell
    timeout_seconds: int = 60  # a run that takes longer is stopped and counts as failed
    # With `command`: how long a new case's confirmation waits for the register's number
    # (0: it leaves at once, without it); not in time, it leaves without the number.
    wait_seconds: int = 0
    # The office is told once that a registration keeps failing: after this many failed
    # attempts, or when it has waited this many hours (0: that trigger off).
    alert_after_attempts: int = 5
    alert_after_hours: int = 24

    @property
    def sealed(self) -> bool:
        return self.seal_key is not None

    def missing(self) -> list[str]:
        """The keys `Segnatura.xml` needs that are not set, as `protocol.KEY`."""
        return [
            f"protocol.{key}"
            for key in ("codice_ipa", "codice_aoo", "denominazione", "classifica")
            if not getattr(self, key)
        ]


def read_protocol(t: Table) -> ProtocolSettings:
    values = {
        "codice_ipa": t.text("codice_ipa", "").strip(),
        "codice_aoo": t.text("codice_aoo", "").strip(),
        "codice_registro": t.text("codice_registro", "PROTOCOLLO").strip(),
        "denominazione": t.text("denominazione", "").strip(),
        "classifica": t.text("classifica", "").strip(),
        "classifica_denominazione": t.text("classifica_denominazione", "").strip(),
    }
    seal_key, seal_certificate = t.path_or_none("seal_key"), t.path_or_none("seal_certificate")
    adapter = t.text("adapter", "manual", choices=ADAPTERS)
    command, timeout = _command(t), t.integer("timeout_seconds", 60, low=1, high=3600)
    wait = t.integer("wait_seconds", 0, low=0, high=300)
    alert_attempts = t.integer("alert_after_attempts", 5, low=0, high=1000)
    alert_hours = t.integer("alert_after_hours", 24, low=0, high=24 * 90)
    t.done()
    if adapter == "command" and not command:
        raise ConfigError(
            'protocol.command: required with adapter = "command": the program and its '
            'arguments as a list, e.g. ["/usr/local/bin/protocolla", "--aoo", "A123"]'
        )
    if (seal_key is None) != (seal_certificate is None):
        raise ConfigError(
            "protocol.seal_key: set together with protocol.seal_certificate (the AOO's "
            "private key and its certificate, PEM), or neither"
        )
    for key in ("codice_ipa", "codice_aoo"):
        if values[key] and not _IPA.fullmatch(values[key]):
            raise ConfigError(
                f"protocol.{key}: an IndicePA code (letters, digits, _ . -), got {values[key]!r}"
            )
    if not _REGISTRO.fullmatch(values["codice_registro"]):
        raise ConfigError(
            "protocol.codice_registro: 1 to 16 letters, digits, _ . - (AgID's "
            f"CodiceRegistro), got {values['codice_registro']!r}"
        )
    return ProtocolSettings(
        **values,
        seal_key=seal_key,
        seal_certificate=seal_certificate,
        adapter=adapter,
        command=command,
        timeout_seconds=timeout,
        wait_seconds=wait,
        alert_after_attempts=alert_attempts,
        alert_after_hours=alert_hours,
    )


ADAPTERS = ("manual", "command")


def _command(t: Table) -> tuple[str, ...]:
    """A list (run without a shell, so no quoting to get wrong) whose first item is an
    executable file named by its absolute path."""
    if isinstance(t.data.get("command"), str):
        raise ConfigError(
            "protocol.command: expected a list (the program, then each argument), got a "
            'string; e.g. ["/usr/local/bin/protocolla", "--aoo", "A123"]'
        )
    command = t.str_list("command")
    if not command:
        return ()
    program = Path(command[0])
    if not program.is_absolute() or not program.is_file() or not os.access(program, os.X_OK):
        raise ConfigError(
            f"protocol.command: {command[0]!r} is not an executable file named by its absolute path"
        )
    return command
