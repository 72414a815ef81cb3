"""Bounds on the work and memory one message may cost, whatever an attacker sends under the
size cap: text bodies cut to what a case can use, HTML too deep for the sanitiser flattened to
text, subjects and names cut to what is echoed back. The original is always kept whole in the
store (the evidence); only what the case and the messages we write carry is bounded.

- A message over `TRIM_ABOVE` has its text parts cut to `MAX_PART_BYTES` at the byte level,
  before the MIME parser sees them: the parser's copies of a 24 MB body cost ~8 times its size.
  Its large attachments are lifted out for the same reason and decoded once, by `parse`.
- HTML nested deeper than `MAX_HTML_DEPTH` is turned to text by a linear scan: the sanitiser's
  time grows with the square of the nesting (100,000 nested <div>: minutes).
"""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass

TRIM_ABOVE = 4 * 1024 * 1024
MAX_PART_BYTES = 1536 * 1024
MAX_BODY_CHARS = 1_000_000
MAX_SUBJECT = 250  # RFC 5322 allows 998 per line; a subject is echoed into our own
MAX_NAME = 100
MAX_HTML_DEPTH = 200
TRUNCATED_NOTE = (
    "\n\n[testo troncato da mailbot / text truncated: il messaggio originale completo è "
    "conservato / the whole original is kept]"
)

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.I)
_TEXT_PART = re.compile(rb"^content-type:\s*text/(?:plain|html)\b", re.I | re.M)
_ANY_TYPE = re.compile(rb"^content-type:", re.I | re.M)
_ATTACHED = re.compile(rb"^content-disposition:\s*attachment|filename\s*\*?=", re.I | re.M)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^>]{0,2000}?(/?)>")
# Elements that never nest (void) or whose end tag HTML lets writers leave out.
_UNCOUNTED = frozenset(
    {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "param",
     "source", "track", "wbr", "p", "li", "td", "tr", "th", "option", "dt", "dd", "tbody",
     "thead", "tfoot", "colgroup"}
)  # fmt: skip
_INVISIBLE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_BREAKS = re.compile(r"<(?:br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^>]{0,2000}>", re.I)
_ANY_TAG = re.compile(r"<[^>]{0,2000}>")


@dataclass(frozen=True)
class Trimmed:
    raw: bytes
    cut: bool = False  # some text part was cut
    # Large attachment parts taken out before the MIME parser (it keeps several copies of
    # each): (the part's header block, its encoded body), decoded by the caller.
    lifted: tuple[tuple[bytes, bytes], ...] = ()


def cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cap_body(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS].rstrip() + TRUNCATED_NOTE


def trim_bodies(raw: bytes) -> Trimmed:
    """The message with every text body over MAX_PART_BYTES cut at a line end; attachments
    and the header are untouched. Small messages are returned as they are (no copy)."""
    if len(raw) <= TRIM_ABOVE:
        return Trimmed(raw)
    boundaries = {m.group(1) or m.group(2) for m in _BOUNDARY.finditer(raw)}
    if not boundaries:
        return _trim_part(raw, top=True)
    delimiter = re.compile(
        rb"^--(?:" + b"|".join(re.escape(b) for b in boundaries) + rb")(?:--)?[ \t]*\r?$", re.M
    )
    pieces: list[bytes] = []
    lifted: list[tuple[bytes, bytes]] = []
    cut = False
    position = 0
    for index, found in enumerate([*delimiter.finditer(raw), None]):
        end = found.start() if found is not None else len(raw)
        part = _trim_part(raw[position:end], top=index == 0)
        pieces.append(part.raw)
        cut = cut or part.cut
        lifted.extend(part.lifted)
        if found is not None:
            pieces.append(raw[found.start() : found.end()])
            position = found.end()
    return Trimmed(b"".join(pieces), cut, tuple(lifted))


def _trim_part(part: bytes, top: bool = False) -> Trimmed:
    end = _HEADER_END.search(part)
    if end is None or len(part) - end.end() <= MAX_PART_BYTES:
        return Trimmed(part)
    head = part[: end.start()]
    if _ATTACHED.search(head) is not None:
        if top:  # the message itself is the attachment: nothing to lift it out of
            return Trimmed(part)
        # Out of the parser's way; an empty text part keeps the MIME structure valid.
        blank = b"\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        return Trimmed(blank, lifted=((head, part[end.end() :]),))
    if _TEXT_PART.search(head) is None and _ANY_TYPE.search(head) is not None:
        return Trimmed(part)
    stop = part.rfind(b"\n", end.end(), end.end() + MAX_PART_BYTES)
    return Trimmed(part[: stop if stop > end.end() else end.end() + MAX_PART_BYTES], True)


def too_deep(html: str) -> bool:
    """Nested deeper than MAX_HTML_DEPTH elements (a linear scan, stopping early)."""
    depth = 0
    for found in _TAG.finditer(html):
        closing, name, self_closing = found.groups()
        if name.lower() in _UNCOUNTED or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > MAX_HTML_DEPTH:
                return True
    return False


def flat_text(html: str) -> str:
    """HTML to text without a parser: scripts and styles dropped, block ends as line breaks."""
    text = _ANY_TAG.sub("", _BREAKS.sub("\n", _INVISIBLE.sub("", html)))
    lines = (" ".join(line.split()) for line in html_module.unescape(text).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def flat_html(html: str) -> str:
    """Safe HTML for a message too deep to sanitise: its text, escaped, as preformatted."""
    return f"<pre>{html_module.escape(flat_text(html))}</pre>"
