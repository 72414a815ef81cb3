"""Two kinds of machine mail recognised by structure and wording, never by one phrase alone:
Lotus Notes/Domino out-of-office notices (no Auto-Submitted, no Precedence: only Domino's
"AUTO:" subject tells), and a mailing list's "your message awaits moderator approval" (Mailman,
Sympa, Google Groups), which may come from an ordinary-looking address once a relay has
rewritten its From. A citizen may write any one of these signs, so each rule wants two.
"""

from __future__ import annotations

from mailbot.ingest import signals
from mailbot.types import ParsedMessage

_WINDOW = 3000  # a notice says what it is at once; a long quote below is not the notice
# A notice opens with its sentence: at most this many words before it (Mailman names the list
# and the held message's subject first). A person who pastes a notice writes his own first.
_WORDS_BEFORE_NOTICE = 40


def opening(text: str) -> str:
    """The start of a message's text, lower-cased, its wrapped lines joined."""
    return " ".join(text[:_WINDOW].lower().split())


def is_domino_absence(msg: ParsedMessage, ctx: object = None) -> str | None:
    """Domino's subject form and a second sign: the absence notice's own sentences, or the
    Notes mailer that wrote it. "Auto: …" alone is also how a citizen starts about a car."""
    if not signals.DOMINO_SUBJECT.search(msg.subject):
        return None
    if signals.ABSENCE_TEXT.search(opening(msg.text)):
        return f"Lotus Notes/Domino out-of-office notice: {msg.subject[:60]!r}"
    mailer = msg.headers.get("x-mailer", "")
    if signals.NOTES_MAILER.search(mailer) or "x-mimetrack" in msg.headers:
        return f"Lotus Notes/Domino out-of-office subject from Notes: {msg.subject[:60]!r}"
    return None


def _list_software(msg: ParsedMessage) -> str | None:
    for name in msg.headers:
        if name.startswith(signals.LIST_HEADERS):
            return name
    loop = msg.headers.get("x-loop", "").lower().split("@")[0].strip(" <")
    if loop in signals.LIST_ROBOTS:
        return "x-loop"
    if msg.sender is not None:
        local, _, domain = msg.sender.email.lower().partition("@")
        if local in signals.LIST_ROBOTS or domain.endswith(signals.LIST_DOMAINS):
            return "a list robot's address"
    return None


def _notice_sentence(text: str) -> bool:
    """The notice's own sentence, where a notice puts it: at the top, not under a person's
    words (a citizen quoting the notice he got is still a citizen)."""
    start = opening(text)
    found = signals.MODERATION_TEXT.search(start)
    return found is not None and len(start[: found.start()].split()) <= _WORDS_BEFORE_NOTICE


def is_moderation_notice(msg: ParsedMessage, ctx: object = None) -> str | None:
    """Two of three: a moderation subject (not a person's reply or forward), the notice's
    sentence at the top, headers or an address only list software has."""
    subject = bool(signals.MODERATION_SUBJECT.search(msg.subject)) and not (
        signals.REPLY_OR_FORWARD.match(msg.subject)
    )
    sentence = _notice_sentence(msg.text)
    software = _list_software(msg)
    found = [
        label
        for label, present in (
            ("subject", subject),
            ("text", sentence),
            (f"list software ({software})", software),
        )
        if present
    ]
    if len(found) >= 2:
        return "mailing-list moderation notice: " + ", ".join(found)
    return None
