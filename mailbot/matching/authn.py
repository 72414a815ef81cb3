"""Is the From address of ordinary mail authentic? Read from the receiving server's
Authentication-Results (RFC 8601); the only importer of authres.

A sender can write any Authentication-Results header into a message, so only a header from an
`authserv-id` listed in `[matching] trusted_authserv_ids` counts, and of those only the topmost:
the receiving server prepends its own (and, per RFC 8601 §5, removes forged ones carrying its
id). The From address is authentic when that header shows DMARC pass for the From domain, or a
DKIM or SPF pass aligned with it. Alignment is relaxed but never guessed: the signing (or
envelope) domain is the From domain or a parent of it (`d=example.it` for `mario@pec.example.it`);
the other way round would need the public-suffix list and is left to DMARC, which the server has
already evaluated with it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import authres


@dataclass(frozen=True)
class Verdict:
    authentic: bool
    reason: str  # which result said so, or why not; stored with the match


def _aligned(domain: str, from_domain: str) -> bool:
    domain = domain.strip().lower().rstrip(".")
    return bool(domain) and (from_domain == domain or from_domain.endswith("." + domain))


def _domain_of(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().lower()


def authenticate(
    headers: Sequence[str], from_address: str, trusted_ids: Collection[str]
) -> Verdict:
    """`headers`: the values of every Authentication-Results header, topmost first."""
    if not trusted_ids:
        return Verdict(False, "no trusted authserv-id configured")
    from_domain = _domain_of(from_address)
    trusted = {t.lower() for t in trusted_ids}
    for value in headers:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(" ".join(value.split()))
        except Exception:  # noqa: S112 - authres raises its own SyntaxError family
            continue  # unreadable: it proves nothing (a forged one may be malformed on purpose)
        if str(parsed.authserv_id).lower() not in trusted:
            continue
        return _judge(parsed.results, from_domain, str(parsed.authserv_id))
    return Verdict(False, "no Authentication-Results from a trusted server")


def _judge(results: Sequence[object], from_domain: str, server: str) -> Verdict:
    for result in results:
        method = str(getattr(result, "method", "")).lower()
        outcome = str(getattr(result, "result", "")).lower()
        if outcome != "pass":
            continue
        props = {
            f"{p.type}.{p.name}".lower(): str(p.value) for p in getattr(result, "properties", [])
        }
        if method == "dmarc" and _aligned(props.get("header.from", from_domain), from_domain):
            return Verdict(True, f"dmarc=pass ({server})")
        if method == "dkim":
            signer = props.get("header.d") or _domain_of(props.get("header.i", ""))
            if _aligned(signer, from_domain):
                return Verdict(True, f"dkim=pass d={signer} ({server})")
        if method == "spf":
            envelope = _domain_of(props.get("smtp.mailfrom", "") or props.get("smtp.helo", ""))
            if "smtp.mailfrom" in props and _aligned(envelope, from_domain):
                return Verdict(True, f"spf=pass mailfrom={envelope} ({server})")
    return Verdict(False, f"no aligned dmarc, dkim or spf pass ({server})")
