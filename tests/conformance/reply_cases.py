"""The reply-trimming cases, split once and for all: mailbot's own fixtures
(tests/fixtures/eml/replies, written for this project), the public corpus in
../shared/corpus/replies that trimming may be tuned on, and the part of that corpus held out.

The held-out part is chosen by a hash of "<collection>/<file>" (a quarter of the cases), fixed
before the structural trimmer was written (issue 31). Nobody looks at it while tuning: the tests
print its figures (per class, per language) but never the name or the text of a held-out case
that fails. Looking would make it one more tuning set, and the figure would stop measuring how
trimming does on mail nobody tuned it on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .test_corpus import CORPUS

REPLIES = CORPUS / "replies"
OWN = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "replies"
OWN_HISTORY = ("suggerimenti@comune.example.it", "mario.bianchi@example.net")
# The classes of issue 31, by the scenario names of the fixtures written for them; the rest are
# the clients' ordinary layouts ("client": gmail_de, outlook_ja, iphone_sv…).
OWN_CLASSES = {
    "wrapped header": ("wrapped_header",),
    "header without verb": ("verbless",),
    "leading header, answer below": ("bottom_post", "leading_header"),
    "banner, bold labels, quote marks": ("decorated", "bold_labels", "quote_prefix", "html_only"),
    "interleaved": ("interleaved",),
    "forward": ("forward", "gmail_forward", "apple_forward"),
    "sign-off": ("signoff",),
    "reply-above marker": ("reply_above",),
}
_LANGUAGE_WORDS = {"danish": "da", "swedish": "sv", "german": "de", "dutch": "nl"}
ITALIAN = {"crisp-email-reply-parser/email_7.txt", "crisp-email-reply-parser/email_13.txt"}


@dataclass(frozen=True)
class Case:
    source: str  # the collection ("own" for mailbot's fixtures)
    name: str
    path: Path
    expected: dict  # the collection's assertions; for own fixtures {"reply_equals": text}
    language: str
    held_out: bool = False

    @property
    def id(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def klass(self) -> str:
        """Own fixtures: the class of message the scenario belongs to; corpus: the collection."""
        if self.source != "own":
            return self.source
        scenario = self.name.removesuffix(".eml").rsplit("_", 1)[0]
        return next(
            (k for k, starts in OWN_CLASSES.items() if scenario.startswith(starts)), "client"
        )


def is_held_out(case_id: str) -> bool:
    return hashlib.sha256(case_id.encode()).digest()[0] % 4 == 0


def corpus_cases() -> list[Case]:
    cases = []
    for expected_file in sorted(REPLIES.glob("*/EXPECTED.json")):
        folder = expected_file.parent
        for name, expected in json.loads(expected_file.read_text())["cases"].items():
            case_id = f"{folder.name}/{name}"
            cases.append(
                Case(
                    folder.name,
                    name,
                    folder / name,
                    expected,
                    _corpus_language(case_id, expected),
                    is_held_out(case_id),
                )
            )
    return cases


def own_cases() -> list[Case]:
    cases = json.loads((OWN / "EXPECTED.json").read_text(encoding="utf-8"))["cases"]
    return [
        Case("own", name, OWN / name, {"reply_equals": text}, name.removesuffix(".eml")[-2:])
        for name, text in sorted(cases.items())
    ]


def _corpus_language(case_id: str, expected: dict) -> str:
    if case_id in ITALIAN:
        return "it"
    others = [lang for lang in expected.get("languages", []) if lang != "en"]
    if others:
        return others[0]
    parts = Path(case_id).stem.split("_")
    for part in parts:
        if part in _LANGUAGE_WORDS:
            return _LANGUAGE_WORDS[part]
        if len(part) == 2 and part in {"nl", "ja", "pl", "sv", "da", "de", "it", "fr", "es"}:
            return part
    return "en"
