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

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

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
    found = _trusted(headers, trusted_ids)
    if found is None:
        return Verdict(False, "no Authentication-Results from a trusted server")
    _, parsed = found
    return _judge(parsed.results, _domain_of(from_address), str(parsed.authserv_id))


def _trusted(headers: Sequence[str], trusted_ids: Collection[str]) -> tuple[str, Any] | None:
    """The topmost readable header from a trusted server: (its unfolded text, parsed)."""
    trusted = {t.lower() for t in trusted_ids}
    for value in headers:
        text = " ".join(value.split())
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(text)
        except Exception:  # noqa: S112 - authres raises its own SyntaxError family
            continue  # unreadable: it proves nothing (a forged one may be malformed on purpose)
        if str(parsed.authserv_id).lower() in trusted:
            return text, parsed
    return None


# The published policy, as receivers write it beside dmarc=fail: OpenDMARC and Gmail
# "(p=reject sp=… dis=…)", Microsoft "action=oreject", rspamd "(policy=reject)", RFC 8601's
# registry "policy.dmarc=quarantine". authres drops comments, so the clause is read as text.
_DMARC_FAIL = re.compile(r"(?:^|;)\s*dmarc\s*=\s*fail\b([^;]*)", re.IGNORECASE)
_POLICY = re.compile(
    r"\b(?:p|policy|policy\.dmarc|policy\.published-domain-policy|action)\s*=\s*"
    r"o?(reject|quarantine)\b",
    re.IGNORECASE,
)


def dmarc_failure(headers: Sequence[str], trusted_ids: Collection[str]) -> str | None:
    """ "dmarc=fail (p=reject)" when a trusted server found that the From domain, which asks
    receivers to reject or quarantine what fails, did not send this message; else None. Such
    a sender is very likely forged: mailbot must not write to it on its own."""
    found = _trusted(headers, trusted_ids) if trusted_ids else None
    if found is None:
        return None
    text, parsed = found
    clause = _DMARC_FAIL.search(text)
    policy = _POLICY.search(clause.group(1)) if clause else None
    if policy is None:
        return None
    return f"dmarc=fail (p={policy.group(1).lower()}) at {parsed.authserv_id}"


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


def failure(headers: Sequence[str], trusted_ids: Collection[str]) -> str | None:
    """ "dkim=fail (mx.example.it)" when the topmost trusted server found a DMARC, DKIM or SPF
    failure: the From address is then not believed to be who it says (an operator's address
    on such a reply speaks for nobody)."""
    found = _trusted(headers, trusted_ids) if trusted_ids else None
    if found is None:
        return None
    _, parsed = found
    for result in parsed.results:
        method = str(getattr(result, "method", "")).lower()
        if method in ("dmarc", "dkim", "spf") and str(result.result).lower() == "fail":
            return f"{method}=fail ({parsed.authserv_id})"
    return None
