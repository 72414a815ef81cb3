"""New text of a reply, without quoted history or signature: the only importer of
mail-parser-reply, which knows the quote headers of the common clients in Italian and English
(Thunderbird "Il … ha scritto:", Gmail "Il giorno … ha scritto:", Apple Mail, Outlook
"Da:/Inviato:/A:/Oggetto:", "On … wrote:") and several other languages.

What it misses is cut here, before or after it runs:
- separator lines: Outlook's "-----Messaggio originale-----" and any dashed banner
  ("-----Ursprüngliche Nachricht-----", Zoho's "---- On … wrote ----"), "______" and "====";
- an Outlook header block whose From line is wrapped ("Da:/From:/De :" then "Inviato:/Sent:/
  Envoyé le :" within three lines);
- a quote header ending in "<address>:" or "wrote:"-like words in any language, also when the
  client wrapped it over two or three lines;
- device footers ("Inviato da iPhone", "Get Outlook for iOS"): what follows them is history;
- the RFC 3676 signature delimiter "-- ".
- the closing and signature block ("Cordiali saluti / Mario Rossi / Ufficio … / tel. …",
  "Regards, John", "-John"): an operator's signature carries their direct line and address,
  which must not reach the citizen, and the relay template signs for the office with its own
  closing. "Grazie"/"Thanks" lines are kept: they are often the message itself.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

_PARSER = EmailReplyParser(languages=["it", "en", "de", "fr", "es", "nl", "da", "sv", "pl"])
# The library's regexes slow down on huge bodies (seconds on a 750 KB one: a way to stall a
# mailbox). New text is at the top, so it only ever sees the first part of a body.
_LIBRARY_WINDOW = 20_000
_FLAGS = re.IGNORECASE | re.MULTILINE
_SEPARATOR = re.compile(
    r"^[ \t]*(?:-{3,}[ \t]*[^-\n][^\n]{2,160}?[ \t]*-{3,}|_{10,}|={3,})[ \t]*$"
    # a long rule is a separator only when a From-line follows (else it underlines a table)
    r"|^[ \t]*-{20,}[ \t]*\n(?:[ \t]*\n){0,2}[ \t]*\*?(?:from|da|de|von|van|od|от)\*?[ \t]*:",
    re.MULTILINE | re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(
    r"^[ \t]*(?:from|da|de|von|van|od|fra|från|от)[ \t]*:.*\n(?:.*\n){0,2}?"
    r"[ \t]*(?:sent|inviato|envoyé(?: le)?|gesendet|verzonden|wysłano|date|data|skickat|sendt|"
    r"отправлено)[ \t]*:",
    _FLAGS,
)
_HEADER_END = re.compile(
    r"^.*(?:<[^<>\s]*@[^<>\s]+>|[^<>\s]+@[^<>\s]+>|^[ \t]*>)[ \t]*:[ \t]*$"
    r"|^.*\b(?:wrote|ha scritto|hanno scritto|escreveu|escribió|schrieb|schreef|a écrit|"
    r"napisał(?:\(a\))?|skrev|kirjoitti|написал(?:\(.\))?)[ \t]*:?[ \t]*$",
    _FLAGS,
)
_DEVICE_FOOTER = re.compile(
    r"^[ \t]*(?:inviato da|sent from|envoyé de|envoyé à partir de|gesendet von|enviado desde|"
    r"enviado do|get outlook for|scarica outlook per)\b[^,\n]{0,80}$",
    _FLAGS,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_FOOTER_START = re.compile(r"^(?:-- ?|__+)[ \t]*$", re.MULTILINE)  # signature, list footer
_CLOSING = re.compile(
    r"^[ \t]*(?:cordiali saluti|distinti saluti|un cordiale saluto|cordialmente|saluti|"
    r"best regards|kind regards|warm regards|regards|best wishes|sincerely|yours sincerely|"
    r"med venlig hilsen|venlig hilsen|mvh|kh|hilsen|pozdrawiam|z pozdrowieniami|"
    r"z powa[żz]aniem|mit freundlichen gr[üu](?:ß|ss)en|viele gr[üu](?:ß|ss)e|lg|"
    r"cordialement|bien [àa] vous|saludos|atentamente|met vriendelijke groet|groeten|"
    r"v[äa]nliga h[äa]lsningar|h[äa]lsningar)[ \t]*[,.!]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGN_OFF = re.compile(r"\n\n[ \t]*[-/~][ \t]?[^\W\d][^\n]{0,40}$")  # "-Abhishek Kona", "/John"
_SIGNATURE_LINES = 7  # at most this many short lines after a closing: longer is the message


def new_text(body: str) -> str:
    """The text the sender wrote this time; the whole body when nothing is quoted."""
    text = body.replace("\r\n", "\n")
    text = _cut(text, _SEPARATOR.search(text))
    text = _cut(text, _HEADER_BLOCK.search(text))
    answered_below = _answer_under_quote(text)
    if answered_below is not None:
        return _tidy(answered_below)
    window = text[:_LIBRARY_WINDOW]
    reply = _original_lines(window, _PARSER.parse_reply(window)) if text.strip() else ""
    if len(text) > _LIBRARY_WINDOW and len(reply) >= len(text[:_LIBRARY_WINDOW].strip()) - 1:
        reply = text  # no quote in the window: the whole (long) text is new
    reply = _cut_wrapped_header(reply)
    reply = _cut(reply, _device_footer(reply))
    reply = _cut(reply, _FOOTER_START.search(reply))
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
    sender's own lines after (or between) them. Returns the text above the header plus those
    lines, or None when the message is not written that way."""
    header = _HEADER_END.search(text)
    if header is None:
        return None
    after = text[header.end() :].lstrip("\n").splitlines()
    if not after or not after[0].lstrip().startswith(">"):
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
    footer = _FOOTER_START.search(below)
    if footer:
        below = below[: footer.start()].strip()
    if not below:
        return None  # top-posting: the ordinary path handles it
    below = _strip_closing(_cut_wrapped_header(below))
    above = _cut_wrapped_header(text[: header.end()])
    return f"{above.strip()}\n\n{below}".strip()


def _strip_closing(text: str) -> str:
    text = text.rstrip()
    for found in reversed(list(_CLOSING.finditer(text))):
        tail = [line for line in text[found.end() :].splitlines() if line.strip()]
        short = len(tail) <= _SIGNATURE_LINES and all(len(line) <= 80 for line in tail)
        if short and text[: found.start()].strip():
            return text[: found.start()].rstrip()
        break
    sign_off = _SIGN_OFF.search(text)
    return text[: sign_off.start()] if sign_off else text


def _device_footer(text: str) -> re.Match[str] | None:
    for found in _DEVICE_FOOTER.finditer(text):
        if not found.group(0).rstrip().endswith("."):  # a label, not a sentence
            return found
    return None


def _cut_wrapped_header(text: str) -> str:
    """Cut at a quote header, walking back over the lines the client wrapped it onto."""
    found = _HEADER_END.search(text)
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
