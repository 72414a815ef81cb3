"""The wording of the back office's reports pages: key → (Italian, English)."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {}
