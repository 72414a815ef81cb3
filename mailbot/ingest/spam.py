"""Is it spam? The verdict the institution's own filters already wrote into the header, and
optionally a local rspamd's, asked over its HTTP API.

Upstream filters prepend their headers when the message passes through them: SpamAssassin and
amavis (`X-Spam-Flag`, `X-Spam-Status: Yes, score=…`), rspamd (`X-Spamd-Result: default: True
[…]`, `X-Rspamd-Action`, `X-Spam: Yes`), Microsoft 365 / Exchange Online
(`X-MS-Exchange-Organization-SCL`, `X-Forefront-Antispam-Report` SFV/CAT), and whatever else the
admin names in `[[spam.rules]]`. A sender can write any of those headers too, so only the ones
in the part of the header our own servers wrote count: with `[spam] trusted_hosts` (the `by`
hosts of our servers' Received lines), every header above the lowest of our Received lines,
the one our MX wrote when the message came in from outside; without it, the topmost copy of
each header, which is the one the nearest filter wrote (a forged copy lies below it). Reads
the header block only.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.config import SpamRule, SpamSettings
from mailbot.errors import TransientError
from mailbot.log import get_logger

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_BY = re.compile(r"\bby\s+([^\s;()\[\]]+)", re.IGNORECASE)
_SCORE = re.compile(r"\bscore=(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_SPAMD_RESULT = re.compile(
    r"^\s*[\w-]+\s*:\s*(true|false)\s*\[\s*(-?\d+(?:\.\d+)?)\s*/", re.IGNORECASE
)
_FOREFRONT_FIELD = re.compile(r"(?:^|;)\s*(SFV|CAT|SCL)\s*:\s*([^;\s]*)", re.IGNORECASE)
# Forefront verdicts that mean the service itself judged the message spam, phishing or malware
# (SFV:NSPM, SFE, SKN… are "not spam" or "skipped").
_FOREFRONT_SPAM_SFV = frozenset({"SPM", "SKS", "BLK"})
_FOREFRONT_SPAM_CAT = frozenset(
    {"SPM", "HSPM", "PHSH", "HPHSH", "HPHISH", "MALW", "OSPM", "AMP", "SAP", "DIMP", "GIMP"}
)
SPAM_ACTIONS = frozenset({"reject", "add header", "rewrite subject"})
# What anyone can send is screened: mail, and the online desk's submissions (as the message
# mailbot writes for each, entry.message_of). What an operator typed in (counter, post, fax,
# phone) is not: the office has read it.
SCREENED_CHANNELS = frozenset({"email", "web"})
FILTERS = ("spamassassin", "rspamd", "microsoft")

log = get_logger(__name__)


@dataclass(frozen=True)
class Verdict:
    """A filter said this message is spam."""

    filter: str  # "spamassassin", "rspamd", "microsoft", "rule:<name>", "rspamd-http"
    reason: str  # what it said, for the admin
    score: float | None = None

    def describe(self) -> str:
        return f"spam ({self.filter}): {self.reason}"


def trusted_headers(raw: bytes, trusted_hosts: Sequence[str]) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded value) of the headers our own servers wrote, topmost first."""
    end = _HEADER_END.search(raw)
    head = raw[: end.start()] if end else raw
    items = [
        (name.lower(), " ".join(str(value).split()))
        for name, value in BytesHeaderParser(policy=compat32).parsebytes(head).items()
    ]
    if not trusted_hosts:
        return items
    # Our MX prepended its Received line when the message came in from outside, and our
    # filters wrote above it; whatever lies below that line was there when it arrived.
    boundary = 0
    for index, (name, value) in enumerate(items):
        if name != "received":
            continue
        if not _ours(value, trusted_hosts):
            break
        boundary = index
    return items[:boundary]


def _ours(received: str, trusted_hosts: Sequence[str]) -> bool:
    found = _BY.search(received)
    host = found.group(1).lower().rstrip(".") if found else ""
    return any(
        host == trusted or (trusted.startswith(".") and host.endswith(trusted))
        for trusted in trusted_hosts
    )


def header_verdict(raw: bytes, settings: SpamSettings) -> Verdict | None:
    """The first upstream filter that marked the message as spam, or None. Of each filter's
    headers the topmost decides: a filter that writes "No" above a sender's "YES" said No."""
    headers = trusted_headers(raw, settings.trusted_hosts)
    for name in settings.filters:
        family = _FAMILIES[name]
        decisive = next(((n, v) for n, v in headers if n in family), None)
        if decisive is None:
            continue
        scores = (_score(n, v) for n, v in headers if n in family)
        score = next((found for found in scores if found is not None), None)
        verdict = _judge(name, *decisive, settings.microsoft_scl)
        if verdict is not None:
            return Verdict(name, verdict, score)
    return _rules(headers, settings.rules)


_FAMILIES = {
    "spamassassin": frozenset({"x-spam-flag", "x-spam-status", "x-spam-score"}),
    "rspamd": frozenset({"x-rspamd-action", "x-spamd-result", "x-spam", "x-rspamd-score"}),
    "microsoft": frozenset({"x-ms-exchange-organization-scl", "x-forefront-antispam-report"}),
}


def _judge(family: str, name: str, value: str, scl_threshold: int) -> str | None:
    """What the filter's topmost header says: the reason it is spam, or None."""
    lowered = value.strip().lower()
    if name == "x-spam-flag":
        return "X-Spam-Flag: YES" if lowered == "yes" else None
    if name == "x-spam-status":
        return f"X-Spam-Status: {value[:120]}" if lowered.startswith("yes") else None
    if name == "x-rspamd-action":
        return f"X-Rspamd-Action: {lowered}" if lowered in SPAM_ACTIONS else None
    if name == "x-spamd-result":
        found = _SPAMD_RESULT.match(value)
        return f"X-Spamd-Result: {value[:80]}" if found and found[1].lower() == "true" else None
    if name == "x-spam":
        return "X-Spam: Yes" if lowered == "yes" else None
    if name == "x-ms-exchange-organization-scl":
        scl = _number(value)
        return f"SCL {scl:g}" if scl is not None and scl >= scl_threshold else None
    if name == "x-forefront-antispam-report":
        fields = {k.upper(): v.upper() for k, v in _FOREFRONT_FIELD.findall(value)}
        if fields.get("SFV") in _FOREFRONT_SPAM_SFV or fields.get("CAT") in _FOREFRONT_SPAM_CAT:
            said = ", ".join(f"{k}:{fields[k]}" for k in ("SFV", "CAT") if k in fields)
            return f"X-Forefront-Antispam-Report {said}"
    return None  # a score header alone (x-spam-score, x-rspamd-score) decides nothing


def _score(name: str, value: str) -> float | None:
    if name in ("x-spam-score", "x-rspamd-score", "x-ms-exchange-organization-scl"):
        return _number(value)
    if name == "x-spam-status":
        found = _SCORE.search(value)
        return float(found.group(1)) if found else None
    if name == "x-spamd-result":
        result = _SPAMD_RESULT.match(value)
        return float(result.group(2)) if result else None
    if name == "x-forefront-antispam-report":
        fields = {k.upper(): v for k, v in _FOREFRONT_FIELD.findall(value)}
        return _number(fields.get("SCL"))
    return None


def _rules(headers: Iterable[tuple[str, str]], rules: Sequence[SpamRule]) -> Verdict | None:
    for rule in rules:
        for name, value in headers:
            if name == rule.header and rule.pattern.search(value):
                return Verdict(f"rule:{rule.name}", f"{rule.header}: {value[:120]}")
    return None


def _number(value: str | None) -> float | None:
    try:
        return float(value.strip()) if value else None
    except ValueError:
        return None


def ask_rspamd(raw: bytes, settings: SpamSettings, recipient: str = "") -> Verdict | None:
    """A local rspamd's verdict on the whole message (`/checkv2`). Unreachable or unreadable:
    a TransientError when `on_rspamd_error = "defer"` (the mailbox backs off and asks again),
    else None (the message goes on as not spam; the log says why)."""
    url = settings.rspamd_url.rstrip("/") + "/checkv2"
    headers = {"Content-Type": "message/rfc822"}
    if recipient:
        headers["Rcpt"] = recipient
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=settings.rspamd_timeout) as response:  # noqa: S310
            answer = json.loads(response.read(1_000_000))
        action = str(answer.get("action", "")).lower()
        score = float(answer.get("score", 0.0))
        required = answer.get("required_score")
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        if settings.on_rspamd_error == "defer":
            raise TransientError(f"rspamd at {settings.rspamd_url} did not answer: {exc}") from exc
        log.warning("rspamd did not answer: message not checked", error=str(exc)[:200])
        return None
    if action not in settings.rspamd_actions:
        return None
    symbols = sorted(answer.get("symbols") or {}, key=str)[:8]
    limit = f" / {required}" if required is not None else ""
    detail = f"action {action}, score {score:g}{limit}" + (
        f" ({', '.join(map(str, symbols))})" if symbols else ""
    )
    return Verdict("rspamd-http", detail, score)


def ping_rspamd(settings: SpamSettings) -> str:
    """What `mailbot check` says of the configured rspamd; TransientError when it is down."""
    url = settings.rspamd_url.rstrip("/") + "/ping"
    try:
        with urllib.request.urlopen(url, timeout=settings.rspamd_timeout) as response:  # noqa: S310
            answer = response.read(100).decode("ascii", "replace").strip()
    except OSError as exc:
        raise TransientError(f"rspamd at {settings.rspamd_url} did not answer: {exc}") from exc
    return f"rspamd at {settings.rspamd_url} answers {answer!r}"


@dataclass(frozen=True)
class Screen:
    """The spam check of one message: `headers`, what the upstream filters' headers say;
    `rspamd`, a local rspamd's verdict, asked before the transaction (no database lock held over
    an HTTP call); `check` is False for a message an admin released from the spam hold."""

    check: bool = True
    rspamd: Verdict | None = None
    headers: Verdict | None = None


def screen(
    raw: bytes,
    settings: SpamSettings,
    recipient: str,
    *,
    headers: Verdict | None = None,
    judged: bool = False,
) -> Screen:
    """Asks the headers of our own servers' filters and the local rspamd, if one is configured,
    about a message to `recipient`. `judged`: the headers were asked already (by the read-ahead
    process) and said `headers`."""
    found = headers if judged else header_verdict(raw, settings)
    if not settings.rspamd_url:
        return Screen(headers=found)
    return Screen(rspamd=ask_rspamd(raw, settings, recipient), headers=found)
