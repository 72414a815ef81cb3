"""What each maintained reply trimmer gets right, side by side: mailbot's `quotes.new_text`,
mail-parser-reply alone (all its languages), quotequail and email_reply_parser (GitHub's rules),
on the five public reply collections of ../shared/corpus/replies and on mailbot's own
multi-language fixtures (tests/fixtures/replies). Prints the table; mailbot must do at least as
well as the best of the others on each set, and get every own fixture right.

Discourse's email_reply_trimmer (Ruby) and Mailgun's talon (no longer installable on Python
3.11: it needs cchardet) cannot run here; their rules are among those in
mailbot/replies/quote_rules.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import quotequail
from email_reply_parser import EmailReplyParser as GithubParser
from mailparser_reply import EmailReplyParser

from mailbot.ingest.parse import parse
from mailbot.replies.quotes import new_text

from .test_corpus import CORPUS
from .test_reply_stripping import failures, norm, reply_of
from support.app import FIXTURES

pytestmark = pytest.mark.conformance
REPLIES = FIXTURES / "replies"
CASES = json.loads((REPLIES / "EXPECTED.json").read_text(encoding="utf-8"))["cases"]
_ALL_LANGUAGES = EmailReplyParser(
    languages=["en", "de", "cs", "da", "es", "fr", "it", "ja", "ko", "nl", "pl", "sv", "zh"]
)


def _quotequail(text: str) -> str:
    shown = []
    for show, chunk in quotequail.quote(text, quote_intro_line=True):
        if not show:
            break
        shown.append(chunk)
    return "\n".join(shown)


TRIMMERS: dict[str, Callable[[str], str]] = {
    "mailbot": new_text,
    "mail-parser-reply": _ALL_LANGUAGES.parse_reply,
    "quotequail": _quotequail,
    "email_reply_parser": GithubParser.parse_reply,
}


def _corpus_rates() -> dict[str, tuple[int, int]]:
    rates = {name: [0, 0] for name in TRIMMERS}
    for expected_file in sorted((CORPUS / "replies").glob("*/EXPECTED.json")):
        folder = expected_file.parent
        for case_name, case in json.loads(expected_file.read_text())["cases"].items():
            _, body = reply_of(folder / case_name)
            for name, trim in TRIMMERS.items():
                problems = failures(case, trim(body), body, folder)
                if problems is None:
                    continue
                rates[name][1] += 1
                rates[name][0] += not problems
    return {name: (ok, total) for name, (ok, total) in rates.items()}


def _own_rates() -> dict[str, tuple[int, int]]:
    rates = {}
    for name, trim in TRIMMERS.items():
        ok = 0
        for case_name, expected in CASES.items():
            body = parse((REPLIES / case_name).read_bytes()).text
            ok += norm(trim(body)) == norm(expected)
        rates[name] = (ok, len(CASES))
    return rates


def test_table_of_what_each_trimmer_gets_right():
    columns = {"own fixtures (exact)": _own_rates()}
    if (CORPUS / "replies").is_dir():
        columns["public corpus"] = _corpus_rates()
    else:
        print(f"\n  public corpus not found at {CORPUS}: only own fixtures measured")
    print("\n  " + f"{'trimmer':<20}" + "".join(f"{c:>24}" for c in columns))
    for name in TRIMMERS:
        cells = "".join(f"{f'{ok}/{total} ({100 * ok / total:.0f}%)':>24}" for ok, total in (
            column[name] for column in columns.values()
        ))  # fmt: skip
        print(f"  {name:<20}{cells}")
    for column in columns.values():
        ours = column["mailbot"][0]
        assert all(ours >= ok for ok, _ in column.values())
    own_ok, own_total = columns["own fixtures (exact)"]["mailbot"]
    assert own_ok == own_total
