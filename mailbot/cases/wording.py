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

EVENT = {
    "it": {
        "work_order.opened": "pratica aperta",
        "work_order.entered": "pratica registrata da un operatore",
        "work_order.assigned": "assegnata a un altro ufficio",
        "work_order.suspended": "sospesa",
        "work_order.resumed": "ripresa",
        "work_order.closed": "chiusa",
        "work_order.reopened": "riaperta",
        "work_order.reasoned_reply": "risposta motivata data",
        "work_order.late": "risposta oltre il termine",
        "work_order.exported": "fascicolo esportato",
        "work_order.transcript_sent": "fascicolo inviato",
        "work_order.relinked": "collegamento all'anagrafe cambiato",
        "work_order.protocollo": "protocollo registrato",
        "work_order.protocol_due": "protocollo in attesa",
        "work_order.protocol_failed": "protocollazione non riuscita, sarà ritentata",
        "work_order.confirmation_numbered": "numero di protocollo indicato nella conferma",
        "work_order.protocol_alerted": "segnalata all'ufficio la protocollazione non riuscita",
        "work_order.segnatura_exported": "Segnatura.xml esportata",
        "work_order.outcome": "esito registrato",
        "work_order.solution": "soluzione registrata",
        "work_order.action": "azione correttiva",
        "work_order.satisfaction": "gradimento registrato",
        "work_order.void": "annullata",
        "work_order.viewed": "consultata",
        "work_order.forwarded": "inoltrata a terzi",
        "message.suppressed": "messaggio non inviato",
        "message.letter": "lettera prodotta",
        "work_order.desk": "pratica di uno sportello, che risponde al cittadino",
        "approval.requested": "risposta trattenuta in attesa di approvazione",
        "approval.approved": "risposta approvata e inviata",
        "approval.replaced": "risposta sostituita da chi approva",
        "approval.rejected": "risposta respinta all'autore",
        "reply_checks.held": "risposta trattenuta: mancano elementi richiesti",
        "reply_checks.sent": "risposta trattenuta inviata comunque",
        "missed_term.cause_asked": "chiesta all'ufficio la causa del termine mancato",
    },
    "en": {
        "work_order.opened": "case opened",
        "work_order.entered": "case entered by an operator",
        "work_order.assigned": "assigned to another office",
        "work_order.suspended": "suspended",
        "work_order.resumed": "resumed",
        "work_order.closed": "closed",
        "work_order.reopened": "reopened",
        "work_order.reasoned_reply": "reasoned reply given",
        "work_order.late": "reply after the term",
        "work_order.exported": "case file exported",
        "work_order.transcript_sent": "case file sent",
        "work_order.relinked": "registry link changed",
        "work_order.protocollo": "protocol number recorded",
        "work_order.protocol_due": "protocol registration pending",
        "work_order.protocol_failed": "protocol registration failed, will be retried",
        "work_order.confirmation_numbered": "protocol number given in the confirmation",
        "work_order.protocol_alerted": "office told the protocol registration keeps failing",
        "work_order.segnatura_exported": "Segnatura.xml exported",
        "work_order.outcome": "outcome recorded",
        "work_order.solution": "solution recorded",
        "work_order.action": "corrective action",
        "work_order.satisfaction": "satisfaction recorded",
        "work_order.void": "voided",
        "work_order.viewed": "viewed",
        "work_order.forwarded": "forwarded to a third party",
        "message.suppressed": "message not sent",
        "message.letter": "letter produced",
        "work_order.desk": "a desk's case: the desk answers the citizen",
        "approval.requested": "reply held for approval",
        "approval.approved": "reply approved and sent",
        "approval.replaced": "reply replaced by the approver",
        "approval.rejected": "reply sent back to its author",
        "reply_checks.held": "reply held: required elements missing",
        "reply_checks.sent": "held reply sent anyway",
        "missed_term.cause_asked": "the office asked why the term was missed",
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
