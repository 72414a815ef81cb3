"""Our Message-IDs and subject tags.

Every message we send gets a Message-ID that names its work order and carries an HMAC of that
name made with the server secret: a reply that references it can be tied to the case without
trusting anything else the sender wrote. The subject tag `[Pratica 2026/000123]` is the
fallback for clients that drop threading headers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_SIGNED = re.compile(
    r"^<mb\.(?P<year>\d{4})-(?P<seq>\d{6})\.(?P<kind>[a-z]{1,3})\.(?P<nonce>[0-9a-f]{8})"
    r"\.(?P<sig>[0-9a-f]{16})@[^>]+>$"
)
# Short kind codes keep the Message-ID header on one line for ordinary domains.
KIND_CODES = {"confirmation": "c", "notification": "n", "reply": "r", "notice": "x"}
_TAG = re.compile(r"\[Pratica (\d{4}/\d{6})\]", re.IGNORECASE)


def _signature(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def make_message_id(secret: bytes, number: str, kind: str, domain: str) -> str:
    code = KIND_CODES.get(kind, kind[:3])
    token = f"{number.replace('/', '-')}.{code}.{secrets.token_hex(4)}"
    return f"<mb.{token}.{_signature(secret, token)}@{domain}>"


def verify_message_id(secret: bytes, message_id: str) -> str | None:
    """The work order number a Message-ID of ours names, or None if it is not ours or forged."""
    found = _SIGNED.match(message_id.strip())
    if not found:
        return None
    token = f"{found['year']}-{found['seq']}.{found['kind']}.{found['nonce']}"
    if not hmac.compare_digest(found["sig"], _signature(secret, token)):
        return None
    return f"{found['year']}/{found['seq']}"


def subject_tag(number: str) -> str:
    return f"[Pratica {number}]"


def tagged_subject(number: str, subject: str) -> str:
    """`[Pratica N] subject`, without repeating a tag the subject already carries."""
    clean = " ".join(_TAG.sub("", subject).split()) if number in subject else subject.strip()
    return f"{subject_tag(number)} {clean}".strip()


def number_in_subject(subject: str) -> str | None:
    found = _TAG.search(subject)
    return found.group(1) if found else None


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1]
