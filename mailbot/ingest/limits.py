"""Bounds on the work and memory one message may cost, whatever an attacker sends under the
size cap: text bodies cut to what a case can use, HTML too deep for the sanitiser flattened to
text, subjects and names cut to what is echoed back. The original is always kept whole in the
store (the evidence); only what the case and the messages we write carry is bounded.

- A message over `TRIM_ABOVE` has its text parts cut to `MAX_PART_BYTES` at the byte level,
  before the MIME parser sees them: the parser's copies of a 24 MB body cost ~8 times its size.
- A message over `LIFT_ABOVE` has its attachments over `LIFT_PART_BYTES` lifted out before the
  parser, and decoded once, by `parse`: the parser reads a base64 body line by line in Python
  (a photo of 1 MB: ~10 ms of the message's filing), binascii decodes it in one call.
- HTML nested deeper than `MAX_HTML_DEPTH` is turned to text by a linear scan: the sanitiser's
  time grows with the square of the nesting (100,000 nested <div>: minutes).
"""

from __future__ import annotations

import html as html_module
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

TRIM_ABOVE = 4 * 1024 * 1024
MAX_PART_BYTES = 1536 * 1024
LIFT_ABOVE = 256 * 1024
LIFT_PART_BYTES = 64 * 1024
MAX_BODY_CHARS = 1_000_000
MAX_SUBJECT = 250  # RFC 5322 allows 998 per line; a subject is echoed into our own
MAX_NAME = 100
MAX_FILENAME = 255  # what a case file records; the whole name is judged before (blocked_name)
MAX_EXTENSION = 16  # a longer "extension" is no file type: cut like the rest of the name
MAX_HTML_DEPTH = 200
TRUNCATED_NOTE = (
    "\n\n[testo troncato da mailbot / text truncated: il messaggio originale completo è "
    "conservato / the whole original is kept]"
)

_HEADER_END = re.compile(rb"\r?\n\r?\n")
# Searched in the lowered bytes (same offsets): a literal start lets sre skip ahead in C.
_BOUNDARY = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""")
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


def cap_filename(name: str, limit: int = MAX_FILENAME) -> str:
    """A file name cut to `limit` characters in its middle, its extension kept:
    "aaaa….exe", never "aaaa" (which would hide the file's type)."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION:
        return name[: limit - 1] + "…"
    return stem[: limit - len(extension) - 2] + "…." + extension


# Cyrillic and Greek letters that look like Latin ones: a name ending in Cyrillic "exe" is
# not ".exe" to a naive policy, but is to a reader and, once renamed, to Windows.
_LOOK_ALIKES = str.maketrans(
    "\u0430\u0432\u0441\u0435\u0456\u0458\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0410\u0412\u0421\u0415\u0406\u0408\u041a\u041c\u041d"
    "\u041e\u0420\u0421\u0422\u0425\u0423\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u03bf\u03b5\u03b9\u03b1\u03bd",
    "abceijkmhopctyxABCEIJKMHOPCTXYABEZHIKMNOPTYXoeiav",
)


def read_name(filename: str) -> str:
    """A file name as Windows and macOS would read it, lowered: NFKC-folded, invisible
    characters gone, look-alike letters read as Latin."""
    name = "".join(ch for ch in unicodedata.normalize("NFKC", filename) if ch.isprintable())
    return name.translate(_LOOK_ALIKES).lower()


def name_extensions(filename: str) -> list[str]:
    """The extension of every part of the name (".exe"), read as Windows would: trailing dots
    and blanks dropped, every part of an alternate data stream name ("a.pdf:x.exe")."""
    found = []
    for piece in read_name(filename).split(":"):
        clean = piece.strip().rstrip(". ")
        if "." in clean:
            found.append("." + clean.rsplit(".", 1)[-1].strip())
    return found


def blocked_name(filename: str, blocked: Sequence[str]) -> bool:
    """Whether the policy refuses this name (the WHOLE name: judge before any cut)."""
    return any(extension in blocked for extension in name_extensions(filename))


def cap_body(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS].rstrip() + TRUNCATED_NOTE


def trim_bodies(raw: bytes) -> Trimmed:
    """Over TRIM_ABOVE, the message with every text body over MAX_PART_BYTES cut at a line
    end; over LIFT_ABOVE, large attachments lifted out. The header is untouched; small messages
    are returned as they are (no copy)."""
    if len(raw) <= LIFT_ABOVE:
        return Trimmed(raw)
    cut_text = len(raw) > TRIM_ABOVE
    boundaries = {
        raw[m.start(1) : m.end(1)] if m.group(1) is not None else raw[m.start(2) : m.end(2)]
        for m in _BOUNDARY.finditer(raw.lower())
    }
    if not boundaries:
        return _trim_part(raw, cut_text, top=True)
    pieces: list[bytes] = []
    lifted: list[tuple[bytes, bytes]] = []
    cut = False
    position = 0
    for index, found in enumerate([*_delimiters(raw, boundaries), None]):
        end = found[0] if found is not None else len(raw)
        part = _trim_part(raw[position:end], cut_text, top=index == 0)
        pieces.append(part.raw)
        cut = cut or part.cut
        lifted.extend(part.lifted)
        if found is not None:
            pieces.append(raw[found[0] : found[1]])
            position = found[1]
    return Trimmed(b"".join(pieces), cut, tuple(lifted))


def _delimiters(raw: bytes, boundaries: set[bytes]) -> list[tuple[int, int]]:
    """Where the boundary lines are, in order: "--" and a boundary at the start of a line,
    an optional "--", blanks and a CR, then the line's end (found by bytes.find, in C)."""
    found: list[tuple[int, int]] = []
    for boundary in boundaries:
        marker = b"--" + boundary
        at = raw.find(marker)
        while at != -1:
            if at == 0 or raw[at - 1 : at] == b"\n":
                end = at + len(marker)
                if raw.startswith(b"--", end):
                    end += 2
                while raw[end : end + 1] in (b" ", b"\t"):
                    end += 1
                if raw.startswith(b"\r", end):
                    end += 1
                if end == len(raw) or raw[end : end + 1] == b"\n":
                    found.append((at, end))
            at = raw.find(marker, at + 1)
    return sorted(found)


def _trim_part(part: bytes, cut_text: bool, top: bool = False) -> Trimmed:
    end = _HEADER_END.search(part)
    if end is None or len(part) - end.end() <= LIFT_PART_BYTES:
        return Trimmed(part)
    head = part[: end.start()]
    if _ATTACHED.search(head) is not None:
        if top:  # the message itself is the attachment: nothing to lift it out of
            return Trimmed(part)
        # Out of the parser's way; an empty text part keeps the MIME structure valid.
        blank = b"\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        return Trimmed(blank, lifted=((head, part[end.end() :]),))
    too_long = cut_text and len(part) - end.end() > MAX_PART_BYTES
    if not too_long or (_TEXT_PART.search(head) is None and _ANY_TYPE.search(head) is not None):
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
