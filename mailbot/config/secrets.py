"""A password or token held by reference (an environment variable or a file), read when
first needed and never printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mailbot.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    """A password held by reference; `reveal()` reads it and names the key when it cannot."""

    key: str  # e.g. "mailboxes[0]" for error messages
    env: str = ""
    file: str = ""
    name: str = "password"  # the keys are <name>_env and <name>_file

    @property
    def configured(self) -> bool:
        return bool(self.env or self.file)

    def reveal(self) -> str:
        if self.env:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(
                    f"{self.key}.{self.name}_env: environment variable {self.env} is not set"
                )
            return value
        if self.file:
            # $CREDENTIALS_DIRECTORY: systemd's LoadCredential= hands secrets over there.
            path = Path(os.path.expandvars(self.file))
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{self.key}.{self.name}_file: cannot read {path}: {exc.strerror}"
                ) from None
        return ""

    def __repr__(self) -> str:  # never print a password, even by accident
        return f"Secret(env={self.env!r}, file={self.file!r})"
