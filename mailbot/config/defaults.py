"""Domain data the settings start from: the water utility's complaint categories, the
OAuth2 providers' token endpoints and scopes, and the fixed choices of several keys.
"""

from __future__ import annotations

from dataclasses import dataclass

SECURITY_MODES = ("none", "starttls", "tls")


LANGUAGES = ("it", "en")


OAUTH_PROVIDERS = ("microsoft", "google", "generic")


OAUTH_FLOWS = ("client_credentials", "refresh_token")


REGISTRY_FIELDS = ("codice_fiscale", "name", "email", "pec", "postal_address")


# What a submission is (the register's "tipo"), how it came (its "canale"), and what the office
# found (its "esito"). "rimborso" is the operator's short form of "richiesta_rimborso".
SUBMISSION_KINDS = ("reclamo", "suggerimento", "segnalazione", "richiesta_rimborso")
CHANNELS = ("email", "pec", "sportello", "posta", "fax", "telefono", "web")
OUTCOMES = ("fondato", "infondato", "parziale")
# A sender who gives no name: the case opens all the same ("accept"), or the citizen is asked
# for it and the term runs only from the answer ("ask"), as a charter refusing anonymous
# reports requires.
ANONYMOUS_POLICIES = ("accept", "ask")
# What the citizen's answer to a suspension does to the term: it goes on ("pause") or starts
# again from the answer ("restart": the term runs from the supplementary documents).
INTEGRATION_RULES = ("pause", "restart")


@dataclass(frozen=True)
class Category:
    id: str
    name: str  # Italian, as citizens and the annual report see it
    name_en: str
    keywords: tuple[str, ...] = ()  # a new case whose subject or text has one gets this category
    # Owed to the citizen when a case of this category is found founded (#esito fondato): an
    # amount, or a compensation in kind; no_refund: no refund of any kind, late ones included.
    refund_eur: float = 0.0
    compensation: str = ""
    no_refund: bool = False


# The complaint categories of a water utility's form (ARERA's quality regulation), the default.
DEFAULT_CATEGORIES = (
    Category(
        "late_reply", "Ritardo nella risposta a richieste scritte", "Late reply to written requests"
    ),
    Category(
        "missed_appointment",
        "Mancato rispetto della fascia di appuntamento",
        "Missed appointment window",
    ),
    Category("late_works", "Ritardo nell'esecuzione di lavori programmati", "Late scheduled works"),
    Category("late_emergency", "Ritardo nel pronto intervento", "Late emergency response"),
    Category("late_quote", "Ritardo nel preventivo", "Late quote"),
    Category("late_connection", "Ritardo nell'allacciamento", "Late connection"),
    Category("late_activation", "Ritardo nell'attivazione della fornitura", "Late activation"),
    Category(
        "late_termination", "Ritardo nella disattivazione della fornitura", "Late termination"
    ),
    Category("water_quality", "Qualità dell'acqua", "Water quality"),
    Category("billing_error", "Errore di fatturazione", "Billing error"),
    Category("other", "Altro", "Other"),
)


SPAM_FILTERS = ("spamassassin", "rspamd", "microsoft")


RSPAMD_ACTIONS = ("reject", "soft reject", "rewrite subject", "add header", "greylist")


# Token endpoints and scopes of the two big providers; "generic" gives its own.
OAUTH_TOKEN_URLS = {
    "microsoft": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    "google": "https://oauth2.googleapis.com/token",
}


OAUTH_SCOPES = {
    ("microsoft", "client_credentials", "imap"): "https://outlook.office365.com/.default",
    ("microsoft", "client_credentials", "smtp"): "https://outlook.office365.com/.default",
    ("microsoft", "refresh_token", "imap"): (
        "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
    ),
    ("microsoft", "refresh_token", "smtp"): "https://outlook.office.com/SMTP.Send offline_access",
    ("google", "refresh_token", "imap"): "https://mail.google.com/",
    ("google", "refresh_token", "smtp"): "https://mail.google.com/",
}
