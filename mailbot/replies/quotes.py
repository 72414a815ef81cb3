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

_PARSER = EmailReplyParser(languages=["it", "en", "de", "fr", "es"])
_SEPARATOR = re.compile(
    r"^\s*-{3,}\s*(messaggio originale|original message|messaggio inoltrato|forwarded message)"
    r"\s*-{3,}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(r"^-- ?$", re.MULTILINE)
_DEVICE_FOOTER = re.compile(
    r"^\s*(inviato da|sent from|envoyé de|gesendet von)( il mio| my| mon| meinem)?\s+"
    r"(iphone|ipad|android|samsung|outlook|mobile|smartphone|galaxy|huawei|xiaomi)\b.*$",
    re.IGNORECASE | re.MULTILINE,
)


def new_text(body: str) -> str:
    """The text the sender wrote this time; the whole body when nothing is quoted."""
    text = body.replace("\r\n", "\n")
    separator = _SEPARATOR.search(text)
    if separator:
        text = text[: separator.start()]
    reply = _PARSER.parse_reply(text) if text.strip() else ""
    signature = _SIGNATURE.search(reply)
    if signature:
        reply = reply[: signature.start()]
    reply = _DEVICE_FOOTER.sub("", reply)
    return "\n".join(line.rstrip() for line in reply.strip().splitlines())
