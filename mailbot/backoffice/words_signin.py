"""The wording of the back office's sign-in pages (signin.py, oidc.py): key → (Italian,
English). The Italian says "collegamento", not "link": staff read Italian here."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "signin_title": ("Accesso", "Sign in"),
    "signin_intro": (
        "Indichi il suo indirizzo e-mail istituzionale: le invieremo un collegamento per "
        "accedere, valido per un solo accesso.",
        "Give your institutional e-mail address: we will send you a link to sign in, good "
        "for one sign-in.",
    ),
    "address_label": ("Indirizzo e-mail istituzionale", "Institutional e-mail address"),
    "address_invalid": (
        "Indichi un indirizzo e-mail valido, ad esempio nome.cognome@comune.example.it.",
        "Give a valid e-mail address, for example name.surname@comune.example.it.",
    ),
    "send_link": ("Invia il collegamento", "Send the link"),
    "sso_or": (
        "Oppure acceda con il sistema di accesso dell'ente:",
        "Or use the institution's sign-in:",
    ),
    "sso_button": ("Accedi con le credenziali dell'ente", "Sign in with the institution's account"),
    "link_sent": (
        "Se {address} è l'indirizzo di un membro del personale, riceverà a breve un messaggio "
        "con il collegamento per accedere. Il collegamento scade dopo {minutes} minuti.",
        "If {address} is a staff member's address, a message with the sign-in link will "
        "arrive shortly. The link expires after {minutes} minutes.",
    ),
    "link_confirm": (
        "Prema il pulsante per accedere all'area riservata.",
        "Press the button to sign in.",
    ),
    "sign_in_button": ("Accedi", "Sign in"),
    "link_used": (
        "Questo collegamento è già stato usato. Ne chieda uno nuovo qui sotto.",
        "This link has already been used. Ask for a new one below.",
    ),
    "link_expired": (
        "Questo collegamento è scaduto. Ne chieda uno nuovo qui sotto.",
        "This link has expired. Ask for a new one below.",
    ),
    "link_unknown": (
        "Questo collegamento non è valido. Ne chieda uno nuovo qui sotto.",
        "This link is not valid. Ask for a new one below.",
    ),
    "signed_out": ("Ha lasciato l'area riservata.", "You are signed out."),
    "sso_not_staff": (
        "L'utenza con cui ha effettuato l'accesso non corrisponde a nessun membro del personale "
        "abilitato. Si rivolga all'amministratore del servizio.",
        "The account you signed in with is not an enabled staff member's. Ask the service's "
        "administrator.",
    ),
    "sso_unverified": (
        "Il sistema di accesso dell'ente non conferma l'indirizzo e-mail di questa utenza. "
        "Si rivolga all'amministratore del servizio, oppure chieda un collegamento per posta.",
        "The institution's sign-in does not confirm this account's e-mail address. Ask the "
        "service's administrator, or ask for a link by mail.",
    ),
    "sso_failed": (
        "L'accesso con il sistema dell'ente non è riuscito. Riprovi, oppure chieda un "
        "collegamento per posta qui sotto.",
        "Signing in with the institution's account did not succeed. Try again, or ask for a "
        "link by mail below.",
    ),
    "too_many": (
        "Troppe richieste: riprovi tra qualche minuto.",
        "Too many requests: try again in a few minutes.",
    ),
}
