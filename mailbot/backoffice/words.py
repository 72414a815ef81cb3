"""The back office's wording, Italian and English: `WORDS[key] = (it, en)`; each part of it
keeps its own table (words_signin, words_cases, words_reports), merged here."""

from __future__ import annotations

from collections.abc import Mapping

from mailbot.backoffice import words_cases, words_reports, words_signin

COMMON: Mapping[str, tuple[str, str]] = {
    "html_lang": ("it", "en"),
    "title": ("Back office reclami", "Complaints back office"),
    "skip": ("Vai al contenuto", "Skip to content"),
    "nav": ("Navigazione principale", "Main navigation"),
    "cases": ("Pratiche", "Cases"),
    "archive": ("Archivio", "Archive"),
    "reports": ("Registro e relazioni", "Register and reports"),
    "signed_in_as": ("Accesso come", "Signed in as"),
    "sign_out": ("Esci", "Sign out"),
    "other_language": ("English", "Italiano"),
    "not_found": (
        "Pratica o pagina inesistente, o non di sua competenza.",
        "No such case or page, or not yours to see.",
    ),
    "forbidden": (
        "Il suo ruolo non consente questa operazione su questa pratica.",
        "Your role does not allow this on this case.",
    ),
    "expired": (
        "La pagina è scaduta: la ricarichi e riprovi.",
        "The page expired: reload it and try again.",
    ),
    "too_large": (
        "Gli allegati superano il limite di {mb} MB.",
        "The attachments exceed the limit of {mb} MB.",
    ),
    "unavailable": (
        "Il servizio non è disponibile in questo momento: riprovi tra poco.",
        "The service is unavailable right now: try again shortly.",
    ),
    "error_title": ("Errore", "Error"),
}


def words(language: str) -> dict[str, str]:
    """Every key in `language` ("it" or "en")."""
    index = 1 if language == "en" else 0
    tables = (COMMON, words_signin.WORDS, words_cases.WORDS, words_reports.WORDS)
    return {key: pair[index] for table in tables for key, pair in table.items()}
