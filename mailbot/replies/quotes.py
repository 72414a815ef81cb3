"""New text of a reply, decided from the structure of the whole message: every line is typed
first (`lines.py`: text, blank, quoted, quote header over one to three lines, banner, header
block, forward, device footer, signature delimiter), then rules over the sequence of types say
which lines are the sender's answer. The phrase tables (`quote_rules.py`) only feed the typing.

The policy (docs: README "What reaches the citizen of an office's reply"):

- history goes: quotes, quote headers, "original message" banners, header blocks and all
  that follows them;
- top-posting: the text above the history; bottom-posting (the message opens with the quote
  header and the quote): the answer under it;
- interleaved answers (own text between quoted blocks, or above and below a quote): every
  quoted block followed by the sender's text stays with it, as quoted; a trailing quoted block
  with nothing after it goes, and so do the quote headers;
- a deliberate forward: the sender's words, then the forwarded message's text without its
  banner and header block (trimmed by the same rules); only the words when the forwarded
  message is the case's own history (from an address in `history`);
- the sender's closing and signature ("Cordiali saluti / Mario Rossi / Ufficio … / tel. …"),
  the "-- " signature and device footers go, everywhere: the relay template signs for the
  office, and an operator's direct line must not reach the citizen. "Grazie" lines stay;
- when unsure, more is relayed, never less; when nothing is left the caller tells the
  operator (an empty answer is never relayed, and never dropped without a word).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from mailbot.replies import lines as typing
from mailbot.replies import quote_rules as rules

# New text is at the top: the structure is read in this many characters (a regex over a whole
# 750 KB body costs seconds: a way to stall a mailbox); beyond it, no history found = all new.
_SCAN_WINDOW = 50_000
_SIGNATURE_SPAN = 10  # a forward under the sender's signature starts within this many lines
_DEPTH = 3  # a forward inside a forward is read; deeper, the rest is relayed as it is


def new_text(body: str, history: Collection[str] = (), *, forward: bool = False) -> str:
    """The text the sender wrote this time; the whole body when nothing is quoted.
    `history`: addresses whose forwarded mail is the case's own history (the mailbox, the
    citizen), never relayed as new text. `forward`: the mail's subject says it is a forward
    ("I:", "Fwd:", "WG:"…; `is_forward`), so a header block with no banner above it (Outlook)
    opens the forwarded message, not quoted history."""
    reading = _Reading(frozenset(a.lower() for a in history), forward)
    return _tidy(_answer(_normalise(body), reading, 0))


def is_forward(subject: str | None) -> bool:
    return bool(subject) and rules.FORWARD_SUBJECT.match(subject or "") is not None


@dataclass(frozen=True)
class _Reading:
    history: frozenset[str]
    forward: bool


def _normalise(body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    text = text.replace("\u200b", "").replace("\ufeff", "")
    above = rules.REPLY_ABOVE.search(text, 0, _SCAN_WINDOW)
    if above is not None and text[: above.start()].strip():
        text = text[: above.start()]
    return text


def _answer(text: str, reading: _Reading, depth: int) -> str:
    window, tail = _split_window(text)
    lines = window.split("\n")
    types = typing.classify(lines)
    hard = next((i for i, kind in enumerate(types) if kind in typing.HARD), None)
    if hard is None:
        own = _own_lines(lines, types)
        if tail and own == lines:
            return _sign_off("\n".join(own) + tail)
        return _sign_off("\n".join(own))
    words = _sign_off("\n".join(_own_lines(lines[:hard], types[:hard])))
    leading = not words.strip() and "t" not in types[:hard]
    opens = _forward_opens(types, hard, reading.forward or leading)
    if opens is not None:
        return _forward(text, lines, types, opens, words=words, reading=reading, depth=depth)
    if leading and types[hard] in "Hm":  # opens with a header and no quote marks, or with a
        # phone's footer (iOS puts it at the top of a bottom-posted answer): read on
        after = next((i for i in range(hard, len(types)) if types[i] not in "Hme"), len(types))
        rest = "\n".join(lines[after:]) + tail
        return _answer(rest, reading, depth + 1) if depth < _DEPTH else _sign_off(rest)
    return words


def _forward_opens(types: list[str], hard: int, forward: bool) -> int | None:
    """Where a forwarded message starts: a forward banner; a banner or a header block in a
    forward (or with nothing of the sender's above); also under his signature or device
    footer, a few lines down."""
    kinds = "fdb" if forward else "f"
    if types[hard] in kinds:
        return hard
    if types[hard] in "ms":
        for i in range(hard + 1, min(hard + _SIGNATURE_SPAN, len(types))):
            if types[i] in kinds:
                return i
            if types[i] not in "tes":
                break
    return None


def _split_window(text: str) -> tuple[str, str]:
    if len(text) <= _SCAN_WINDOW:
        return text, ""
    cut = text.rfind("\n", 0, _SCAN_WINDOW)
    cut = cut if cut > 0 else _SCAN_WINDOW
    return text[:cut], text[cut:]


def _own_lines(lines: list[str], types: list[str]) -> list[str]:
    """Top-posted, bottom-posted or interleaved: the sender's lines, with the quoted blocks
    his text answers."""
    first = next((i for i, kind in enumerate(types) if kind in "qh"), None)
    if first is None:
        return lines
    above = lines[:first]
    blocks = _blocks(lines[first:], types[first:])
    if blocks and blocks[-1][0] == "t" and _only_closing("\n".join(blocks[-1][1])):
        blocks.pop()  # only a closing and a signature under the quote: it answers nothing
    if not any(kind == "t" for kind, _ in blocks):
        return above  # top-posting: the quote under the answer goes
    has_above = any(types[i] == "t" for i in range(first))
    last_quote = max((n for n, (kind, _) in enumerate(blocks) if kind == "q"), default=-1)
    own_only_below = all(kind != "t" for kind, _ in blocks[:last_quote])
    if not has_above and own_only_below:  # bottom-posting: the answer under the quote
        return [line for kind, block in blocks[last_quote + 1 :] if kind == "t" for line in block]
    out = list(above)
    for n, (kind, block) in enumerate(blocks):
        answered = n + 1 < len(blocks) and blocks[n + 1][0] == "t"
        if kind == "t" or answered:
            skip = 0
            if out and not out[-1].strip():  # one blank line where the header was, not two
                skip = next((i for i, line in enumerate(block) if line.strip()), 0)
            out.extend(block[skip:])
    return out


def _blocks(lines: list[str], types: list[str]) -> list[tuple[str, list[str]]]:
    """Runs of quoted ("q") and own ("t") lines, each with the blank lines before it; quote
    headers dropped."""
    blocks: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    for line, kind in zip(lines, types, strict=True):
        if kind in "eh":
            pending = [*pending, ""] if kind == "e" else pending
            continue
        run = "q" if kind == "q" else "t"
        if blocks and blocks[-1][0] == run:
            blocks[-1][1].extend([*pending, line])
        else:
            blocks.append((run, [*pending, line]))
        pending = []
    return blocks


def _forward(
    text: str,
    lines: list[str],
    types: list[str],
    at: int,
    *,
    words: str,
    reading: _Reading,
    depth: int,
) -> str:
    """The sender's words and the forwarded message, without its banner and header block;
    a forwarded message quoted with ">" (Apple Mail) is read unquoted and given back quoted."""
    i = at + 1 if types[at] in "fd" else at
    while i < len(lines) and types[i] in "ebd":
        i += 1
    rest = lines[i:]
    quoted = bool(rest) and all(t in "qe" for t in types[i:]) and types[i] == "q"
    if quoted:
        rest = [re.sub(r"^[ \t]*> ?", "", line) for line in rest]
        rest_types = typing.classify(rest)
        i = 0
        while i < len(rest) and rest_types[i] in "ebd":
            i += 1
        header, rest = rest[:i], rest[i:]
    else:
        header = [lines[j] for j in range(at, i) if types[j] == "b"]
    sender = next((line for line in header if rules.FROM_FIELD.match(line)), "")
    addresses = {a.lower().strip(".,;:") for a in rules.ADDRESS.findall(sender)}
    if addresses & reading.history:
        return words
    body = "\n".join(rest) + ("" if quoted else text[len("\n".join(lines)) :])
    plain = _Reading(reading.history, forward=False)
    forwarded = _answer(body, plain, depth + 1) if depth < _DEPTH else body
    if quoted:
        forwarded = "\n".join(
            f"> {line}" if line.strip() else ">" for line in forwarded.split("\n")
        )
    return f"{words.rstrip()}\n\n{forwarded.strip()}".strip()


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _only_closing(text: str) -> bool:
    """A closing ("Cordiali saluti") and a short signature under it, nothing else."""
    found = rules.CLOSING.match(text.strip())
    if found is None:
        return False
    tail = [line for line in text.strip()[found.end() :].splitlines() if line.strip()]
    return len(tail) <= rules.SIGNATURE_LINES and all(len(line) <= 80 for line in tail)


def _sign_off(text: str) -> str:
    """Without the closing and the signature block under it, or a "-Mario" sign-off."""
    text = text.rstrip()
    for found in reversed(list(rules.CLOSING.finditer(text))):
        tail = [line for line in text[found.end() :].splitlines() if line.strip()]
        short = len(tail) <= rules.SIGNATURE_LINES and all(len(line) <= 80 for line in tail)
        if short and text[: found.start()].strip():
            return text[: found.start()].rstrip()
        break
    sign_off = rules.SIGN_OFF.search(text)
    return text[: sign_off.start()] if sign_off else text
