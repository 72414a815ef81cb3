"""Reading one TOML table: typed getters whose errors name the key and what is wrong, and the
check that no unknown key is left.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mailbot.config.secrets import Secret
from mailbot.errors import ConfigError
from mailbot.types import looks_like_address

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


AGE = re.compile(r"^\s*(\d{1,4})\s*([yd])\s*$")


def parse_age(value: str, key: str) -> tuple[int, str]:
    """ "5y" → (5, "y"); "400d" → (400, "d"). Errors name `key`."""
    found = AGE.match(value.lower())
    if found is None or int(found.group(1)) == 0:
        raise ConfigError(f"{key}: expected an age like 5y or 400d, got {value!r}")
    return int(found.group(1)), found.group(2)


class Table:
    """One TOML table being read: remembers its key path and which keys were consumed."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def _key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def _get(self, name: str, default: Any, kind: type | tuple[type, ...], what: str) -> Any:
        self.used.add(name)
        if name not in self.data:
            if default is _REQUIRED:
                # `[smpt]` or `ulr = …` is a misspelling, not a missing table or key.
                strays = [k for k in self.data if k not in self.used]
                for stray in difflib.get_close_matches(name, strays, 1, _CLOSE):
                    raise self._unknown(stray, (name,))
                raise ConfigError(f"{self._key(name)}: missing (required)")
            return default
        value = self.data[name]
        # bool is an int in Python; never accept true for a port.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
            raise ConfigError(f"{self._key(name)}: expected {what}, got {show(value)}")
        return value

    def text(self, name: str, default: Any = None, choices: tuple[str, ...] = ()) -> str:
        value: str = self._get(name, _REQUIRED if default is None else default, str, "a string")
        if choices and value not in choices:
            raise ConfigError(
                f"{self._key(name)}: must be one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def identifier(self, name: str, what: str, taken: Iterable[str]) -> str:
        """An id (`id`, a mailbox's `name`): lower-case letters, digits, - or _, and not one
        of `taken` (the ids of the same kind read before it)."""
        value = self.text(name)
        if not ID_PATTERN.match(value):
            raise ConfigError(
                f"{self._key(name)}: {value!r} must be lower-case letters, digits, - or _"
            )
        if value in taken:
            raise ConfigError(f"{self._key(name)}: {what} {value!r} is defined twice")
        return value

    def email(self, name: str, default: Any = None) -> str:
        value = self.text(name, default).strip().lower()
        if value and not looks_like_address(value):
            raise ConfigError(f"{self._key(name)}: {value!r} is not an email address")
        return value

    def integer(self, name: str, default: Any = None, low: int = 0, high: int = 2**31) -> int:
        value: int = self._get(
            name, _REQUIRED if default is None else default, int, "a whole number"
        )
        if not low <= value <= high:
            raise ConfigError(f"{self._key(name)}: must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float, low: float = 0.0) -> float:
        value = self._get(name, default, (int, float), "a number")
        if value < low:
            raise ConfigError(f"{self._key(name)}: must be at least {low}, got {value}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value: bool = self._get(name, default, bool, "true or false")
        return value

    def path_or_none(self, name: str) -> Path | None:
        value = self.text(name, "")
        if not value:
            return None
        if not Path(value).is_file():
            raise ConfigError(f"{self._key(name)}: {value} is not a readable file")
        return Path(value)

    def duration(self, name: str, default: str) -> float:
        """ "90m", "12h", "3d" → seconds."""
        value = self.text(name, default).strip().lower()
        found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", value)
        if found is None:
            raise ConfigError(
                f"{self._key(name)}: expected a duration like 90m, 12h or 3d, got {value!r}"
            )
        return float(found.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(2)]

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self._get(name, [], list, "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{self._key(name)}: expected a list of strings")
        return tuple(value)

    def table(self, name: str, required: bool = True) -> Table:
        value = self._get(name, _REQUIRED if required else {}, dict, "a table")
        return Table(value, self._key(name))

    def tables(self, name: str) -> list[Table]:
        value = self._get(name, _REQUIRED, list, f"one or more [[{name}]] tables")
        if not value:
            raise ConfigError(f"{self._key(name)}: at least one [[{name}]] is required")
        if not all(isinstance(item, dict) for item in value):
            raise ConfigError(f"{self._key(name)}: expected [[{name}]] tables")
        return [Table(item, f"{self._key(name)}[{i}]") for i, item in enumerate(value)]

    def secret(self, name: str = "password") -> Secret:
        env = self.text(f"{name}_env", "")
        file = self.text(f"{name}_file", "")
        if env and file:
            raise ConfigError(
                f"{self._key(name + '_env')}: set {name}_env or {name}_file, not both"
            )
        if name in self.data:
            raise ConfigError(
                f"{self._key(name)}: inline {name.replace('_', ' ')}s are not accepted; "
                f"use {name}_env (an environment variable) or {name}_file"
            )
        return Secret(self.where, env, file, name)

    def done(self) -> None:
        """Every key was read: the first one left over is unknown (a misspelling, most often)."""
        self.known(self.used)

    def known(self, names: Iterable[str]) -> None:
        """No key but these: the first other one is named as unknown, with the closest of
        these as a suggestion."""
        names = set(names)
        unknown = sorted(set(self.data) - names)
        if unknown:
            raise self._unknown(unknown[0], names)

    def _unknown(self, name: str, known: Iterable[str]) -> ConfigError:
        value = self.data.get(name)
        brackets = ("[", "]") if isinstance(value, dict) else ("[[", "]]")
        is_table = isinstance(value, dict) or _is_table_list(value)
        close = difflib.get_close_matches(name, sorted(known), 1, _CLOSE)
        hint = ""
        if close:
            shown = f"{brackets[0]}{close[0]}{brackets[1]}" if is_table else close[0]
            hint = f" (did you mean {shown}?)"
        return ConfigError(f"{self._key(name)}: unknown {'table' if is_table else 'key'}{hint}")


_CLOSE = 0.6  # difflib's ratio from which a name is taken for a misspelling of another


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


_REQUIRED = object()


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"
