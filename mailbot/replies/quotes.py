"""New text of a reply, without quoted history or signature: the only importer of
mail-parser-reply, which knows the quote headers of the common clients in several languages.
What it misses is cut here, before or after it runs, by the rules in `quote_rules.py` (quote
headers in 14 languages, Outlook header blocks, separator banners, forwarded-message intros,
device footers, "reply above this line" markers):

- cut before the library: a "reply above this line" marker, a separator banner, an Outlook
  header block, a forwarded-message intro;
- a message that *starts* with a quote header (bottom-posting, or the answer written under the
  header): the sender's own lines are what is not quoted;
- cut after the library: a quote header it did not know (also wrapped over two or three lines),
  device footers ("Inviato da iPhone", "Von meinem iPhone gesendet": what follows them is
  history), the RFC 3676 signature delimiter "-- ";
- the closing and signature block ("Cordiali saluti / Mario Rossi / Ufficio … / tel. …",
  "Regards, John", "-John"): an operator's signature carries their direct line and address,
  which must not reach the citizen, and the relay template signs for the office with its own
  closing. "Grazie"/"Thanks" lines are kept: they are often the message itself.

When nothing is left the caller tells the operator (an empty answer is never relayed, and never
dropped without a word).
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

from mailbot.replies import quote_rules as rules

_PARSER = EmailReplyParser(languages=["it", "en", "de", "fr", "es", "nl", "da", "sv", "pl"])
# The library's regexes slow down on huge bodies (seconds on a 750 KB one: a way to stall a
# mailbox). New text is at the top, so it only ever sees the first part of a body.
_LIBRARY_WINDOW = 20_000
# Our own rules look for the start of the quote within this many characters: a reply's new text
# is not longer, and a regex over a whole huge body costs seconds (a 750 KB one: 1.2 s; 0.3 s now).
_SCAN_WINDOW = 50_000


def new_text(body: str) -> str:
    """The text the sender wrote this time; the whole body when nothing is quoted."""
    text = body.replace("\r\n", "\n")
    for pattern in (rules.REPLY_ABOVE, rules.SEPARATOR, rules.HEADER_BLOCK, rules.FORWARD_INTRO):
        text = _cut(text, pattern.search(text, 0, _SCAN_WINDOW))
    answered_below = _answer_under_quote(text)
    if answered_below is not None:
        return _tidy(answered_below)
    window = text[:_LIBRARY_WINDOW]
    reply = _original_lines(window, _PARSER.parse_reply(window)) if text.strip() else ""
    if len(text) > _LIBRARY_WINDOW and len(reply) >= len(text[:_LIBRARY_WINDOW].strip()) - 1:
        reply = text  # no quote in the window: the whole (long) text is new
    reply = _cut_wrapped_header(reply)
    reply = _cut(reply, _device_footer(reply))
    reply = _cut(reply, rules.FOOTER_START.search(reply, 0, _SCAN_WINDOW))
    return _tidy(_strip_closing(reply))


def _original_lines(original: str, reply: str) -> str:
    """The library strips each line's indentation (bullets, code): take the lines it kept
    from the original instead."""
    lines = original.splitlines()
    out: list[str] = []
    index = 0
    for kept in reply.splitlines():
        while index < len(lines) and lines[index].strip() != kept.strip():
            index += 1
        if index == len(lines):
            return reply  # not a plain prefix of the original: trust the library
        out.append(lines[index])
        index += 1
    return "\n".join(out)


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _cut(text: str, found: re.Match[str] | None) -> str:
    """Text up to the match; a message that *starts* with a quote header (a forward with no
    comment) keeps its text: there is nothing else to take."""
    if found is None or not text[: found.start()].strip():
        return text
    return text[: found.start()]


def _answer_under_quote(text: str) -> str | None:
    """Bottom-posted or interleaved answers: a quote header followed by "> " lines, with the
    sender's own lines after (or between) them; or a message that starts with the quote header
    and has the answer under it, before the quote. Returns the text above the header plus the
    sender's own lines, "" when a leading header is followed by nothing of the sender's, or
    None when the message is not written that way."""
    header = rules.QUOTE_HEADER_END.search(text, 0, _SCAN_WINDOW)
    if header is None:
        return None
    above = _cut_wrapped_header(text[: header.end()]).strip()
    leading = not above
    after = text[header.end() :].lstrip("\n").splitlines()
    if not after or (not leading and not after[0].lstrip().startswith(">")):
        return None
    own: list[str] = []
    previous_quoted = False
    for line in after:
        quoted = line.lstrip().startswith(">")
        # A wrapped quote line that lost its ">" goes on in lower case: still the quote.
        continuation = previous_quoted and line[:1].islower()
        if not quoted and not continuation:
            own.append(line)
        previous_quoted = quoted or continuation
    below = "\n".join(own).strip()
    footer = rules.FOOTER_START.search(below)
    if footer:
        below = below[: footer.start()].strip()
    if not below:
        return "" if leading else None  # top-posting: the ordinary path handles it
    below = _cut(below, _device_footer(below))
    below = _strip_closing(_cut_wrapped_header(below))
    return f"{above}\n\n{below}".strip()


def _strip_closing(text: str) -> str:
    text = text.rstrip()
    for found in reversed(list(rules.CLOSING.finditer(text))):
        tail = [line for line in text[found.end() :].splitlines() if line.strip()]
        short = len(tail) <= rules.SIGNATURE_LINES and all(len(line) <= 80 for line in tail)
        if short and text[: found.start()].strip():
            return text[: found.start()].rstrip()
        break
    sign_off = rules.SIGN_OFF.search(text)
    return text[: sign_off.start()] if sign_off else text


def _device_footer(text: str) -> re.Match[str] | None:
    found = rules.DEVICE_PHRASE.search(text, 0, _SCAN_WINDOW)
    for label in rules.DEVICE_LABEL.finditer(text, 0, _SCAN_WINDOW):
        if not label.group(0).rstrip().endswith("."):  # a label, not a sentence
            if found is None or label.start() < found.start():
                found = label
            break
    return found


def _cut_wrapped_header(text: str) -> str:
    """Cut at a quote header, walking back over the lines the client wrapped it onto."""
    found = rules.QUOTE_HEADER_END.search(text, 0, _SCAN_WINDOW)
    if found is None:
        return text
    start = found.start()
    for _ in range(2):
        before = text[:start].rstrip("\n")
        if not before or text[len(before) : start].count("\n") > 1:
            break  # a blank line: the header starts here
        previous = before.rsplit("\n", 1)[-1]
        # Only lines that look like pieces of a header (a date, an address) belong to it.
        if not re.search(r"[\d@<]", previous) or previous.rstrip().endswith((".", "!", "?")):
            break
        start = len(before) - len(previous)
    return text[:start]
