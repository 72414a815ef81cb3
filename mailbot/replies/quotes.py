"""New text of a reply, without quoted history or signature: the only importer of
mail-parser-reply, which knows the quote headers of the common clients in Italian and English
(Thunderbird "Il … ha scritto:", Gmail "Il giorno … ha scritto:", Apple Mail, Outlook
"Da:/Inviato:/A:/Oggetto:", "On … wrote:"). What it misses is cut here first: Outlook's
"-----Messaggio originale-----" / "-----Original Message-----" separators, the RFC 3676
signature delimiter "-- ", and "Inviato da iPhone"-style device footers.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

# Every language the library knows: operators forward and quote mail from anywhere.
_PARSER = EmailReplyParser(languages=["it", "en", "de", "fr", "es", "nl", "da", "sv", "pl"])
# The library's regexes slow down on huge bodies (seconds on a 750 KB one: a way to stall a
# mailbox). New text is at the top, so it only ever sees the first part of a body.
_LIBRARY_WINDOW = 20_000
# "-----Messaggio originale-----", "-----Ursprüngliche Nachricht-----", Zoho's
# "---- On … wrote ----": a dashed banner line starts the quoted history in any language.
_SEPARATOR = re.compile(r"^[ \t]*-{3,}[ \t]*[^-\n][^\n]{2,160}?[ \t]*-{3,}[ \t]*$", re.MULTILINE)
# A quote header ending in "wrote:" in a language the library lacks (or wrapped oddly):
# cut at that line, or at the line before when the header was wrapped over two lines.
_WROTE = re.compile(
    r"^.*\b(wrote|ha scritto|hanno scritto|escreveu|escribió|schrieb|a écrit|napisał\(a\)|"
    r"skrev|kirjoitti|написал(?:\(.\))?)\s*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_DEVICE_FOOTER = re.compile(
    r"^\s*(inviato da|sent from|envoyé de|gesendet von|enviado desde|enviado do)"
    r"( il mio| my| mon| meinem| mi| meu)?\s+\S.{0,60}$",
    re.IGNORECASE | re.MULTILINE,
)


def new_text(body: str) -> str:
    """The text the sender wrote this time; the whole body when nothing is quoted."""
    text = body.replace("\r\n", "\n")
    separator = _SEPARATOR.search(text)
    if separator:
        text = text[: separator.start()]
    reply = _PARSER.parse_reply(text[:_LIBRARY_WINDOW]) if text.strip() else ""
    if len(text) > _LIBRARY_WINDOW and len(reply) >= len(text[:_LIBRARY_WINDOW].strip()) - 1:
        reply = text  # no quote in the window: the whole (long) text is new
    reply = _cut_at_quote_header(reply)
    signature = _SIGNATURE.search(reply)
    if signature:
        reply = reply[: signature.start()]
    reply = _DEVICE_FOOTER.sub("", reply)
    return "\n".join(line.rstrip() for line in reply.strip().splitlines())


def _cut_at_quote_header(text: str) -> str:
    found = _WROTE.search(text)
    if found is None:
        return text
    start = found.start()
    before = text[:start].rstrip("\n")
    previous_line = before.rsplit("\n", 1)[-1] if before else ""
    line = found.group(0)
    # "Em 10 de julho …, John Doe (\ncontact@x) escreveu:": the header began a line earlier.
    if previous_line.strip() and not re.match(r"^\s*(on|il|em|el|am|le|den|dnia)\b", line, re.I):
        start = len(before) - len(previous_line)
    return text[:start]
