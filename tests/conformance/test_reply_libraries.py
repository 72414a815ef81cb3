"""What each maintained reply trimmer gets right, side by side: mailbot's `quotes.new_text`,
mail-parser-reply alone (all its languages), quotequail and email_reply_parser (GitHub's rules),
on the five public reply collections of ../shared/corpus/replies and on mailbot's own
multi-language fixtures (tests/fixtures/eml/replies). Three columns: own fixtures, the public
corpus trimming may be tuned on, and the quarter held out (reply_cases.py). Prints the table;
mailbot must do at least as well as the best of the others on each set, and get every own
fixture right.

Discourse's email_reply_trimmer (Ruby) and Mailgun's talon (no longer installable on Python
3.11: it needs cchardet) cannot run here; their rules are among those in
mailbot/replies/quote_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import quotequail
from email_reply_parser import EmailReplyParser as GithubParser
from mailparser_reply import EmailReplyParser

from mailbot.replies.quotes import new_text

from .reply_cases import OWN_HISTORY, REPLIES, Case, corpus_cases, own_cases
from .test_reply_stripping import POLICY, failures, reply_of

pytestmark = pytest.mark.conformance
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


def _rates(cases: list[Case]) -> dict[str, tuple[int, int]]:
    rates = {name: [0, 0] for name in TRIMMERS}
    for case in cases:
        ours, body = reply_of(case.path, OWN_HISTORY if case.source == "own" else ())
        for name, trim in TRIMMERS.items():
            reply = ours if name == "mailbot" else trim(body)
            problems = failures(case.expected, reply, body, REPLIES / case.source)
            if problems is None or case.id in POLICY:
                continue
            rates[name][1] += 1
            rates[name][0] += not problems
    return {name: (ok, total) for name, (ok, total) in rates.items()}


def test_table_of_what_each_trimmer_gets_right():
    columns = {"own fixtures (exact)": _rates(own_cases())}
    if REPLIES.is_dir():
        corpus = corpus_cases()
        columns["public corpus"] = _rates([c for c in corpus if not c.held_out])
        columns["held out"] = _rates([c for c in corpus if c.held_out])
    else:
        print(f"\n  public corpus not found at {REPLIES}: only own fixtures measured")
    print("\n  " + f"{'trimmer':<20}" + "".join(f"{c:>24}" for c in columns))
    for name in TRIMMERS:
        cells = "".join(f"{f'{ok}/{total} ({100 * ok / total:.0f}%)':>24}" for ok, total in (
            column[name] for column in columns.values()
        ))  # fmt: skip
        print(f"  {name:<20}{cells}")
    print("  (public corpus: the part trimming may be tuned on; held out: never looked at;")
    print(f"  {len(POLICY)} cases where mailbot's policy differs from upstream are not counted)")
    for column in columns.values():
        ours = column["mailbot"][0]
        assert all(ours >= ok for ok, _ in column.values())
    own_ok, own_total = columns["own fixtures (exact)"]["mailbot"]
    assert own_ok == own_total
