"""The words a reader sees for the values a case holds: its status, how the sender was matched,
the kind of each message and event, the channel it came by; and dates as a reader writes them,
in the configured time zone. Italian by default, English with `language = "en"`. The ids stay
in the database, the logs and the JSON; letters, notifications and case files show these.

One table per value, as data: a test walks them all, and an id with no label is shown as it is
(never silently dropped).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from mailbot.cases.event_words import EVENTS

STATUS = {
    "it": {"open": "aperta", "suspended": "sospesa", "closed": "chiusa", "void": "annullata"},
    "en": {"open": "open", "suspended": "suspended", "closed": "closed", "void": "void"},
}

MATCH_RULE = {
    "it": {
        "pec_verified": "mittente PEC certificato",
        "registry_address": "indirizzo registrato in anagrafe",
        "claimed_code": "codice fiscale scritto nel messaggio",
        "ambiguous_address": "indirizzo di più contribuenti",
        "similar_name": "nome simile a uno in anagrafe",
        "generic_contact": "contatto generico",
        "operator": "collegata da un operatore",
    },
    "en": {
        "pec_verified": "certified PEC sender",
        "registry_address": "address registered in the registry",
        "claimed_code": "tax code written in the message",
        "ambiguous_address": "address shared by several taxpayers",
        "similar_name": "name similar to a registered one",
        "generic_contact": "generic contact",
        "operator": "linked by an operator",
    },
}

MESSAGE_KIND = {
    "it": {
        "citizen": "messaggio del cittadino",
        "citizen_followup": "seguito del cittadino",
        "satisfaction": "questionario di gradimento",
        "confirmation": "conferma di ricezione",
        "relay": "risposta dell'ufficio",
        "letter": "lettera da stampare e spedire",
        "extension": "proroga",
        "closing": "chiusura",
        "notification": "notifica all'ufficio",
        "forward": "inoltro all'ufficio",
        "operator_reply": "risposta dell'operatore",
        "note": "nota interna",
        "internal_note": "nota interna inoltrata all'ufficio",
        "notice": "avviso all'operatore",
        "transcript": "fascicolo",
        "pending_reply": "risposta in attesa di approvazione",
        "held_reply": "risposta trattenuta: mancano elementi richiesti",
        "approval": "richiesta di approvazione",
        "forward_external": "inoltro a terzi",
    },
    "en": {
        "citizen": "citizen's message",
        "citizen_followup": "citizen's follow-up",
        "satisfaction": "satisfaction survey",
        "confirmation": "acknowledgement",
        "relay": "office's reply",
        "letter": "letter to print and post",
        "extension": "extension",
        "closing": "closing",
        "notification": "notification to the office",
        "forward": "forward to the office",
        "operator_reply": "operator's reply",
        "note": "internal note",
        "internal_note": "internal note passed on to the office",
        "notice": "notice to the operator",
        "transcript": "case file",
        "pending_reply": "reply waiting for approval",
        "held_reply": "reply held: required elements missing",
        "approval": "approval request",
        "forward_external": "forward to a third party",
    },
}

CHANNEL = {
    "it": {
        "email": "posta elettronica",
        "pec": "PEC",
        "sportello": "allo sportello",
        "posta": "per posta",
        "fax": "per fax",
        "telefono": "per telefono",
        "web": "dal modulo online",
    },
    "en": {
        "email": "e-mail",
        "pec": "certified e-mail (PEC)",
        "sportello": "at the counter",
        "posta": "by post",
        "fax": "by fax",
        "telefono": "by phone",
        "web": "through the online form",
    },
}

EVENT = {lang: {k: words[n] for k, words in EVENTS.items()} for n, lang in enumerate(("it", "en"))}


# Kinds of request (config SUBMISSION_KINDS and [charter.requests]), as an office reads them.
KIND = {
    "it": {
        "reclamo": "reclamo",
        "suggerimento": "suggerimento",
        "segnalazione": "segnalazione",
        "richiesta_rimborso": "richiesta di rimborso",
        "richiesta_informazioni": "richiesta di informazioni",
        "rettifica_fatturazione": "rettifica di fatturazione",
    },
    "en": {
        "reclamo": "complaint",
        "suggerimento": "suggestion",
        "segnalazione": "report",
        "richiesta_rimborso": "refund request",
        "richiesta_informazioni": "request for information",
        "rettifica_fatturazione": "bill correction",
    },
}

ROLE = {
    "it": {
        "operator": "operatore",
        "responsible": "responsabile",
        "supervisor": "supervisore",
        "desk": "sportello",
        "admin": "amministratore",
    },
    "en": {
        "operator": "operator",
        "responsible": "responsible",
        "supervisor": "supervisor",
        "desk": "desk",
        "admin": "admin",
    },
}

TABLES = {
    "role": ROLE,
    "status": STATUS,
    "match_rule": MATCH_RULE,
    "message_kind": MESSAGE_KIND,
    "channel": CHANNEL,
    "event": EVENT,
    "kind": KIND,
}


def label(table: str, value: str | None, language: str) -> str:
    """The reader's word for `value`; an event `message.<kind>` reads as its message kind."""
    if not value:
        return ""
    words = TABLES[table]
    found = words.get(language, words["it"]).get(value)
    if found is None and table == "event" and value.startswith("message."):
        kind = value.removeprefix("message.")
        found = MESSAGE_KIND.get(language, MESSAGE_KIND["it"]).get(kind)
    return found or value


def when(value: datetime | None, tz: ZoneInfo, language: str) -> str:
    """11/03/2026 10:15 (Italian) or 11/03/2026, 10:15 (English), in local time."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    return str(format_datetime(local, "dd/MM/yyyy HH:mm", tzinfo=tz, locale=_locale(language)))


def day(value: date | datetime | None, tz: ZoneInfo, language: str) -> str:
    """11/03/2026, a moment's day in local time."""
    if value is None:
        return ""
    local = value.astimezone(tz) if isinstance(value, datetime) else value
    return str(format_date(local, "dd/MM/yyyy", locale=_locale(language)))


def long_day(value: date | datetime, tz: ZoneInfo, language: str) -> str:
    """11 marzo 2026 (a letter's date)."""
    local = value.astimezone(tz) if isinstance(value, datetime) else value
    return str(format_date(local, format="long", locale=_locale(language)))


def _locale(language: str) -> str:
    return language if language in STATUS else "it"


def parse_iso(value: Any) -> datetime | None:
    """A view's ISO timestamp back to a moment (the JSON views keep ISO for machines)."""
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def detail(event: str, key: str, value: str, language: str) -> str:
    """One of an event's details as a reader sees it: a kind of request (`work_order.kind`'s
    `to` and `previous`) in words, not its id; any other detail as it is."""
    if event == "work_order.kind" and key in ("to", "previous"):
        return label("kind", value, language)
    return value


def kind_values(kind: str, language: str, *, shown: bool, cue: str = "") -> dict[str, object]:
    """What the office's notification says of the kind of request (templates/*/notification.*):
    `shown` under a regulated profile or when the kind is not the mailbox's own; `cue`, the
    words that made mailbot classify it so (the `work_order.kind` event's)."""
    return {"kind_text": label("kind", kind, language), "kind_cue": cue, "kind_shown": shown}
