"""The type of every line of a reply, read from its shape, before anything is cut: the first
half of trimming by structure (`quotes.py` decides from the sequence of types).

One character a line, so rules over the sequence are readable:

    t  text (the sender's, until a rule says otherwise)      e  blank
    q  quoted (">", or "|"/"»" in a run under a quote header)
    h  quote header followed by a quote (one to three lines: wrapped headers are one header)
    H  quote header with no quote under it: what follows is history, unmarked
    d  "original message" banner or rule            f  forwarded-message banner or intro
    b  a header block's field (From:/Da:/Von: … Sent:/Inviato: … To: … Subject: …)
    m  device footer ("Inviato da iPhone")           s  signature or list-footer delimiter
"""

from __future__ import annotations

import itertools
import re

from mailbot.replies import quote_rules as rules

HARD = frozenset("Hdfbms")  # where the sender's own text ends for good
_QUOTE = re.compile("^[ \\t]*[>\uff1e]")  # ">" and the full-width one
_WRAPPED_QUOTE = 60  # a quoted line this long was probably wrapped: a lower-case line goes on
_HEADER_LINES = 3
_NOTES_INDENT = 20
_NOTES_SPAN = 8
_HEADER_CHARS = 300


def classify(lines: list[str]) -> list[str]:
    types = [_first_look(line) for line in lines]
    _continuations(lines, types)
    _field_blocks(lines, types)
    _notes_columns(lines, types)
    _rules_over_blocks(lines, types)
    _headers(lines, types)
    for i, kind in enumerate(types):
        if kind == "p":  # another quote mark not under a header: ordinary text
            types[i] = "t"
    return types


def _first_look(line: str) -> str:
    stripped = line.strip()
    if not stripped:
        return "e"
    if _QUOTE.match(line):
        return "q"
    table_row = len(stripped) > 1 and stripped.endswith("|")
    if stripped.startswith(rules.OTHER_QUOTE_MARKS) and not table_row:
        return "p"
    bare = stripped.strip(rules.DECORATION + " \t")
    if rules.FORWARD_INTRO.match(bare) or (
        rules.BANNER_WORDS.match(bare) and rules.FORWARD_BANNER.search(bare)
    ):
        return "f"
    if rules.BANNER_WORDS.match(bare) or rules.SEPARATOR.match(bare):
        return "f" if rules.FORWARD_BANNER.search(bare) else "d"
    if rules.FOOTER_START.match(stripped):
        return "s"
    if _device(stripped):
        return "m"
    return "t"


def _device(line: str) -> bool:
    if rules.DEVICE_PHRASE.match(line):
        return True
    if not rules.DEVICE_LABEL.match(line):
        return False
    return not line.rstrip().endswith(".") or rules.DEVICE_WORDS.search(line) is not None


def _continuations(lines: list[str], types: list[str]) -> None:
    """A long quoted line the quoting client wrapped goes on without its ">" in lower case."""
    for i in range(1, len(lines)):
        previous = lines[i - 1]
        wrapped = types[i - 1] == "q" and len(previous) >= _WRAPPED_QUOTE
        if types[i] == "t" and wrapped and lines[i].lstrip()[:1].islower():
            types[i] = "q"


def _field_blocks(lines: list[str], types: list[str]) -> None:
    """A run of header fields with a From label and a Sent/Date or Subject label (in any
    order, values wrapped onto the next lines): the block of an embedded message, Outlook's
    reply header or a forwarded message's header."""
    i = 0
    while i < len(lines):
        if types[i] != "t" or not rules.FIELD.match(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and types[j] == "t":
            if not rules.FIELD.match(lines[j]) and not _continues(lines, j):
                # a value wrapped without indentation: a field follows within two lines
                ahead = lines[j + 1 : j + 3]
                if not any(rules.FIELD.match(line) for line in ahead if line.strip()):
                    break
            j += 1
        run = [line for line in lines[i:j] if rules.FIELD.match(line)]
        if any(map(rules.FROM_FIELD.match, run)) and any(map(rules.DATE_FIELD.match, run)):
            types[i:j] = ["b"] * (j - i)
        i = j


def _notes_columns(lines: list[str], types: list[str]) -> None:
    """Lotus Notes' column header: two header labels alone ("To", "cc", "Subject"), far to the
    right, within eight lines; the block starts at the sender's name above them."""
    labels = [
        i
        for i, line in enumerate(lines)
        if types[i] == "t"
        and line.strip().lower() in rules.NOTES_LABELS
        and len(line) - len(line.lstrip()) >= _NOTES_INDENT
    ]
    for first, second in itertools.pairwise(labels):
        if second - first > _NOTES_SPAN or types[first] != "t":
            continue
        start = first
        while start > 0 and types[start - 1] == "t" and first - start < _NOTES_SPAN // 2:
            start -= 1
        for i in range(start, second + 1):
            types[i] = "b" if types[i] == "t" else types[i]


def _rules_over_blocks(lines: list[str], types: list[str]) -> None:
    """A long rule right above a header block is that block's banner (else it underlines)."""
    for i, line in enumerate(lines):
        bare = line.strip()
        if types[i] == "t" and len(bare) >= 20 and set(bare) <= set("-_"):
            after = _next_filled(types, i)
            if after is not None and after - i <= 3 and types[after] == "b":
                types[i] = "d"


def _continues(lines: list[str], j: int) -> bool:
    """A field's value wrapped onto this line (indented, or an address list going on)."""
    line = lines[j]
    return line[:1] in " \t" or lines[j - 1].rstrip().endswith((",", ";", "<"))


def _next_filled(types: list[str], i: int) -> int | None:
    for j in range(i + 1, len(types)):
        if types[j] != "e":
            return j
    return None


def _headers(lines: list[str], types: list[str]) -> None:
    """Quote headers, by shape: a verb ("wrote", "ha scritto", "schrieb"…) or an address and a
    colon at the end of up to three lines; or, right above a quote, a date with an address or a
    time. A header over a quote makes the quote's run of other quote marks a quote too."""
    for end in range(len(lines)):
        if types[end] != "t":
            continue
        after = _next_filled(types, end)
        quoted = after is not None and types[after] in "qp"
        start = _header_start(lines, types, end, quoted)
        if start is None:
            continue
        for i in range(start, end + 1):
            types[i] = "h" if quoted else "H"
        if quoted and after is not None:
            for j in range(after, len(types)):
                if types[j] == "p":
                    types[j] = "q"
                elif types[j] != "e":
                    break


def _header_start(lines: list[str], types: list[str], end: int, quoted: bool) -> int | None:
    """The first line of a quote header ending on line `end`, or None when it is not one."""
    if len(lines[end]) > _HEADER_CHARS:
        return None
    for pieces in (1, 2):  # a verb split over two lines: "… ha" / "scritto:"
        start = end - pieces + 1
        if start < 0 or any(types[i] != "t" for i in range(start, end + 1)):
            break
        joined = " ".join(lines[i].strip() for i in range(start, end + 1))
        if len(joined) > _HEADER_CHARS:
            break
        verb = rules.QUOTE_HEADER_END.search(joined) or rules.WROTE_WITHIN.search(joined)
        if verb is not None:
            start = _walk_back(lines, types, start, end)
            text = " ".join(lines[i].strip() for i in range(start, end + 1))
            if len(text) > _HEADER_CHARS:
                return None
            # With no quote under it, only a header that names a date or an address cuts.
            if quoted or re.search(r"[\d@<]", text):
                return start
            return None
    if not quoted:
        return None
    start = _walk_back(lines, types, end, end)
    text = " ".join(lines[i].strip() for i in range(start, end + 1))
    if len(text) > _HEADER_CHARS or text.endswith((".", "!", "?")):
        return None
    dated = rules.DATE.search(text) is not None
    address = rules.ADDRESS.search(text) is not None
    timed = rules.TIME.search(text) is not None
    if ((dated or timed) and address) or (dated and timed and text.endswith(rules.COLONS)):
        return start
    return None


def _walk_back(lines: list[str], types: list[str], start: int, end: int) -> int:
    """Back over the lines a client wrapped the header onto: pieces of a header (a date, an
    address), never a sentence, at most three lines in all, no blank line between."""
    while start > 0 and end - start + 1 < _HEADER_LINES:
        if rules.HEADER_OPENERS.match(lines[start]):
            break
        previous = lines[start - 1]
        if types[start - 1] != "t" or not previous.strip():
            break
        if not re.search(r"[\d@<]", previous) or previous.rstrip().endswith((".", "!", "?")):
            break
        start -= 1
    return start
