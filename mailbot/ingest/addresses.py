"""An address someone typed (the online desk's form), read as the pipeline will read it.

The form writes the address into the From header of the message it files; the pipeline reads
that header with `parse.parse`, and the confirmation addresses it with the standard library's
header parser. An address either reading refuses would be "received" and then open nothing,
so a typed address is accepted only when both read it back unchanged. An internationalised
domain (`utente@dominio-è.it`) travels IDNA-encoded, as SMTP carries it; a local part outside
ASCII needs SMTPUTF8, which a confirmation cannot count on, and a domain literal
(`user@[127.0.0.1]`) names a machine, not a mail domain: both are refused.
"""

from __future__ import annotations

import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr

from mailbot.ingest import parse
from mailbot.types import looks_like_address, normalise_address

# Characters that end or fold a header line, or hide in one: C0/C1 controls, U+2028/U+2029.
_BREAKING = frozenset(("Cc", "Zl", "Zp"))


def breaks_a_line(value: str) -> bool:
    """CR, LF, another control character, or a Unicode line/paragraph separator."""
    return any(unicodedata.category(ch) in _BREAKING for ch in value)


def typed_address(value: str) -> str | None:
    """The address as mail carries it (lower case, its domain IDNA-encoded), or None when the
    pipeline would not read it as one sender's address."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or breaks_a_line(value) or not local.isascii():
        return None
    if domain.startswith("[") or any(ch.isspace() for ch in value):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    address = normalise_address(f"{local}@{ascii_domain}")
    if not looks_like_address(address):
        return None
    try:
        HeaderAddress("", addr_spec=address)  # how the confirmation will address it
    except (ValueError, IndexError, HeaderParseError):
        return None
    # How the pipeline reads it back, with a name and without (the form may have either).
    for name in ("", "Nome"):
        message = EmailMessage(policy=SMTP)
        message["From"] = formataddr((name, address))
        message.set_content(".")
        sender = parse.parse(message.as_bytes()).sender
        if sender is None or sender.email != address:
            return None
    return address


def shown_address(address: str) -> str:
    """An IDNA-encoded domain as it was typed (`utente@dominio-è.it`), for people to read."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('ascii').decode('idna')}"
    except UnicodeError:
        return address
