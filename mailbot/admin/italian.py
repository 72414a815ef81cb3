"""Italian formats for the documents an office publishes (the register, the annual report):
money "1.234,56 €", decimals "12,5", shares "12,5%", dates "11/03/2026", and the Italian names
of the ids a case record holds (status, channel, kind, outcome).

One place, so the register's CSV, its spreadsheet and the annual report's HTML and PDF write
a figure the same way. Numbers go through babel's Italian locale.
"""

from __future__ import annotations

from datetime import date

from babel.numbers import format_currency, format_decimal, format_percent

LOCALE = "it_IT"
NONE = "n.d."  # no data

STATUS_NAMES = {"open": "aperta", "suspended": "sospesa", "closed": "chiusa"}
VOIDED = "annullata"
CHANNEL_NAMES = {
    "email": "e-mail",
    "pec": "PEC",
    "sportello": "sportello",
    "posta": "posta",
    "fax": "fax",
    "telefono": "telefono",
    "web": "modulo web",
}
KIND_NAMES = {
    "richiesta_rimborso": "richiesta di rimborso",
    "richiesta_informazioni": "richiesta di informazioni",
    "rettifica_fatturazione": "richiesta di rettifica di fatturazione",
}
OUTCOME_NAMES = {"fondato": "fondato", "infondato": "infondato", "parziale": "in parte fondato"}


def money(value: float) -> str:
    """1234.5 → "1.234,50 €" (a no-break space before the sign, as Italian typesetting has)."""
    return format_currency(value, "EUR", locale=LOCALE)


def decimal(value: float, places: int = 1) -> str:
    """12.5 → "12,5"; with thousands grouped (1.234,5)."""
    return format_decimal(value, format="#,##0." + "0" * places, locale=LOCALE)


def number(value: float) -> str:
    """12.0 → "12", 12.5 → "12,5", 1234 → "1.234"."""
    return format_decimal(value, format="#,##0.#", locale=LOCALE)


def change(part: float) -> str:
    """0.25 → "+25%", -0.1 → "-10%"."""
    return format_percent(part, format="+#,##0%;-#,##0%", locale=LOCALE)


def plain_decimal(value: float) -> str:
    """20 → "20,00": two places, a decimal comma and no grouping, which Italian Excel reads
    as a number in a semicolon-separated file."""
    return format_decimal(value, format="0.00", locale=LOCALE)


def share(part: int, whole: int) -> str:
    """3 of 24 → "12,5%"; "n.d." when there is nothing to divide by."""
    return format_percent(part / whole, format="#,##0.#%", locale=LOCALE) if whole else NONE


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def status(value: str, voided: bool = False) -> str:
    return VOIDED if voided else STATUS_NAMES.get(value, value)


def channel(value: str) -> str:
    return CHANNEL_NAMES.get(value, value)


def kind(value: str) -> str:
    return KIND_NAMES.get(value, value)


def outcome(value: str | None) -> str:
    return OUTCOME_NAMES.get(value, value) if value else ""
