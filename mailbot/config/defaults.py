"""Domain data the settings start from: a municipality's general complaint categories, the
OAuth2 providers' token endpoints and scopes, and the fixed choices of several keys.
"""

from __future__ import annotations

from dataclasses import dataclass

SECURITY_MODES = ("none", "starttls", "tls")


LANGUAGES = ("it", "en")


OAUTH_PROVIDERS = ("microsoft", "google", "generic")


OAUTH_FLOWS = ("client_credentials", "refresh_token")


# Attachments refused by default ([limits] blocked_extensions): programs and scripts a click runs.
BLOCKED_EXTENSIONS = (
    ".exe",
    ".bat",
    ".cmd",
    ".com",
    ".scr",
    ".pif",
    ".js",
    ".jse",
    ".vbs",
    ".vbe",
    ".wsf",
    ".msi",
    ".jar",
    ".ps1",
    ".hta",
    ".cpl",
    ".lnk",
    ".iso",
    ".img",
)

REGISTRY_FIELDS = ("codice_fiscale", "name", "email", "pec", "postal_address")


# What a submission is (the register's "tipo"), how it came (its "canale"), and what the office
# found (its "esito"). "rimborso" is the operator's short form of "richiesta_rimborso".
# The regulated kinds (ARERA): "reclamo", "richiesta_informazioni", "rettifica_fatturazione".
SUBMISSION_KINDS = (
    "reclamo", "suggerimento", "segnalazione", "richiesta_rimborso", "richiesta_informazioni",
    "rettifica_fatturazione",
)  # fmt: skip
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


# The categories of a municipality's complaints when the config sets none: general ones,
# with Italian ids (what operators type after #categoria) and names (what people read), no
# keywords and no refunds, which are the institution's to decide. A water utility's list
# (ARERA) is in config.example.toml, commented out.
DEFAULT_CATEGORIES = (
    Category("ritardo", "Ritardo o mancata risposta", "Late or missing reply"),
    Category("personale", "Comportamento del personale", "Staff behaviour"),
    Category("informazioni", "Informazioni non chiare o errate", "Unclear or wrong information"),
    Category("accesso", "Orari, accesso e accessibilità", "Opening hours, access, accessibility"),
    Category("strade", "Strade, marciapiedi e illuminazione", "Roads, pavements and lighting"),
    Category("rifiuti", "Rifiuti e pulizia urbana", "Waste and street cleaning"),
    Category("verde", "Verde pubblico e parchi", "Public green spaces and parks"),
    Category("tributi", "Tributi e pagamenti", "Local taxes and payments"),
    Category("altro", "Altro", "Other"),
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
