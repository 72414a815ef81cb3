"""The online desk's optional proof of work (`[web] challenge = "altcha"`): the only importer
of altcha. No third party is involved: the form page carries a challenge signed with mailbot's
secret and valid for `LIFETIME`; the browser finds, with `challenge.js` (served from here, no
inline script), the number whose SHA-256 with the challenge's salt gives the challenge (ALTCHA's
protocol v1, on average `MAX_NUMBER / 2` hashes); the server checks the signature, the expiry
and the hash before filing. A solution is good for one submission: its key becomes the
submission's (entry.Submission.key), and the ledger files one message per key, so a replayed
solution files nothing, whichever instance it reaches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from altcha.v1 import ChallengeOptions, create_challenge, verify_solution
from flask import Flask, Response, g

FIELD = "altcha"  # the form field the solution comes in
ALGORITHM = "SHA-256"
MAX_NUMBER = 100_000  # ~0.3 s on average in a browser; the same for every visitor
LIFETIME = timedelta(hours=6)  # as long as the form's CSRF token: a citizen may take a while
SCRIPT = Path(__file__).with_name("challenge.js")

WORDS = {
    "it": {
        "failed": "Non è stato possibile verificare l'invio dal suo browser: attenda qualche"
        " secondo e invii di nuovo (il modulo richiede JavaScript), oppure scriva"
        " all'indirizzo indicato sotto.",
        "working": "Verifica in corso…",
    },
    "en": {
        "failed": "We could not verify the submission from your browser: wait a few seconds"
        " and send again (the form needs JavaScript), or write to the address below.",
        "working": "Checking…",
    },
}


class Challenge:
    """Issues and verifies the form's challenges; with `kind` "" every submission passes."""

    def __init__(
        self, kind: str, secret: bytes, language: str, max_number: int = MAX_NUMBER
    ) -> None:
        self.kind = kind
        self.key = hmac.new(secret, b"mailbot web challenge", hashlib.sha256).hexdigest()
        self.words = WORDS.get(language, WORDS["it"])
        self.max_number = max_number

    @property
    def enabled(self) -> bool:
        return bool(self.kind)

    def issue(self) -> str:
        """A fresh challenge, as the JSON the page hands to challenge.js."""
        options = ChallengeOptions(
            algorithm="SHA-256",
            max_number=self.max_number,
            salt_length=12,
            hmac_key=self.key,
            expires=datetime.now(UTC) + LIFETIME,
        )
        made = create_challenge(options)
        return json.dumps(made.to_dict(), separators=(",", ":"))

    def verify(self, payload: str) -> str | None:
        """The submission's key when `payload` solves a challenge of ours that has not expired
        (a random key when the challenge is off); None when it does not (it is then noted for
        the page: `refused`)."""
        if not self.enabled:
            return secrets.token_hex(12)
        solved = _decoded(payload)
        if (
            solved is None
            or solved.get("algorithm") != ALGORITHM
            or not isinstance(solved.get("number"), int)
            or "expires" not in _salt_params(solved)  # ours always expire
            or not verify_solution(payload, self.key, check_expires=True)[0]
        ):
            g.challenge_refused = True
            return None
        return hashlib.sha256(str(solved["signature"]).encode()).hexdigest()[:32]

    def page_values(self) -> dict[str, Any]:
        """What the form template reads: nothing when the challenge is off."""
        if not self.enabled:
            return {"challenge": None}
        refused = bool(g.get("challenge_refused"))
        return {
            "challenge": {"data": self.issue(), "field": FIELD, "working": self.words["working"]},
            "challenge_error": self.words["failed"] if refused else "",
        }


def _decoded(payload: str) -> dict[str, Any] | None:
    if not payload or len(payload) > 4000:
        return None
    try:
        value = json.loads(base64.b64decode(payload, validate=True))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _salt_params(solved: dict[str, Any]) -> dict[str, list[str]]:
    query = str(solved.get("salt", "")).partition("?")[2]
    return urllib.parse.parse_qs(query)


def install(app: Flask, challenge: Challenge) -> None:
    """The script's route and the form's values, on `app`."""

    def script() -> Response:
        response = Response(SCRIPT.read_bytes(), mimetype="text/javascript")
        response.headers["Cache-Control"] = "public, max-age=3600"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.add_url_rule("/challenge.js", "challenge_script", script)
    app.context_processor(challenge.page_values)
