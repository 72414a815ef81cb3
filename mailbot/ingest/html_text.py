"""The text of an HTML body, as a reader sees it: inscriptis lays out blocks, lists and tables;
a pathologically deep document is flattened instead (limits.py)."""

from __future__ import annotations

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from mailbot.ingest import limits

# inscriptis' default ("relaxed") profile indents every <div> by two spaces: a citizen would get
# an HTML-only answer with its lines shifted right. "strict" keeps lines where they are.
_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])


def html_text(html: str) -> str:
    return limits.flat_text(html) if limits.too_deep(html) else str(get_text(html, _CONFIG))
