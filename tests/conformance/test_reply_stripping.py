"""Quote and signature stripping against the reply fixtures of five public projects
(../shared/corpus/replies), through the same path an operator's reply takes: .eml and .html
inputs go through our parser first, then `quotes.new_text`.

Assertions that are about other features (older quoted replies, signature text the upstream
library hides, HTML output, Redmine's own threading) are not counted. A case passes when every
counted assertion holds. Prints the pass rate per source; Italian cases must all pass.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from mailbot.ingest.parse import parse
from mailbot.replies.quotes import new_text

from .test_corpus import CORPUS

REPLIES = CORPUS / "replies"
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not REPLIES.is_dir(), reason=f"reply corpus not found at {REPLIES}"),
]
ITALIAN = {"crisp-email-reply-parser/email_7.txt", "crisp-email-reply-parser/email_13.txt"}
# Where the upstream projects contradict each other, mailbot follows its own policy (see
# mailbot/replies/quotes.py). Each case here fails *because* of that choice; the rate is
# printed with and without them, and both are asserted.
POLICY = {
    "alfonsrv-mail-parser-reply/email_2_1.txt": (
        "upstream keeps an empty '-----' rule that the github copy of the same mail drops; so do we"
    ),
    "alfonsrv-mail-parser-reply/email_nl_1_2.txt": "the same '-----' rule, Dutch copy",
    "mailgun-talon/standard_replies/iphone.eml": (
        "talon keeps 'Sent from my iPhone'; crisp drops device footers, and so do we"
    ),
    "mailgun-talon/standard_replies/sparrow.eml": "talon keeps 'Sent with Sparrow'; as above",
    "crisp-email-reply-parser/email_3.txt": (
        "crisp keeps the sign-off '-Abhishek Kona' that github and alfonsrv drop; so do we"
    ),
    "crisp-email-reply-parser/email_not_a_signature.txt": (
        "crisp keeps the closing 'Sincerely, ...'; we drop closings: an operator's signature "
        "carries a direct line and address that must not reach a citizen"
    ),
}


def norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().splitlines())


def as_list(value: object) -> list[str]:
    return [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]


def reply_of(path: Path) -> tuple[str, str]:
    """(new text, whole body) as mailbot would see an operator's reply in this file."""
    data = path.read_bytes()
    if path.suffix == ".eml":
        body = parse(data).text
    elif path.suffix == ".html":
        wrapped = b"From: a@example.org\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + data
        body = parse(wrapped).text
    else:
        body = data.decode("utf-8", "replace")
    return new_text(body), body


def failures(case: dict, reply: str, body: str, folder: Path) -> list[str] | None:
    """None when no assertion applies; else the failed assertions (empty: passed)."""
    got = norm(reply)
    checks: list[tuple[str, bool]] = []
    for key in ("reply_equals", "latest_reply_body_equals"):
        if key in case:
            checks.append((key, got == norm(case[key])))
    if "reply_equals_file" in case:
        expected = (folder / case["reply_equals_file"]).read_text(errors="replace")
        checks.append(("reply_equals_file", got == norm(expected)))
    if "reply_startswith" in case:
        checks.append(("reply_startswith", got.startswith(norm(case["reply_startswith"]))))
    for key in ("reply_contains", "latest_reply_body_contains"):
        for part in as_list(case.get(key, [])):
            checks.append((f"{key} {part[:30]!r}", norm(part) in got))
    for key in ("reply_not_contains", "latest_reply_body_not_contains"):
        for part in as_list(case.get(key, [])):
            checks.append((f"{key} {part[:30]!r}", norm(part) not in got))
    if case.get("reply_is_whole_body"):
        checks.append(("reply_is_whole_body", got == norm(body)))
    if "reply_text_equals_ignoring_whitespace" in case:
        squeeze = "".join(case["reply_text_equals_ignoring_whitespace"].split())
        checks.append(("reply_text_equals_ignoring_whitespace", "".join(got.split()) == squeeze))
    if case.get("reply_nonempty"):
        checks.append(("reply_nonempty", bool(got)))
    if not checks:
        return None
    return [name for name, ok in checks if not ok]


def test_reply_stripping_pass_rate():
    results: dict[str, list[bool]] = defaultdict(list)
    failed: list[str] = []
    for expected_file in sorted(REPLIES.glob("*/EXPECTED.json")):
        folder = expected_file.parent
        for name, case in json.loads(expected_file.read_text())["cases"].items():
            path = folder / name
            started = time.perf_counter()
            reply, body = reply_of(path)
            elapsed = time.perf_counter() - started
            if "max_seconds" in case:
                assert elapsed < case["max_seconds"], f"{name}: {elapsed:.2f}s (regex blow-up?)"
            problems = failures(case, reply, body, folder)
            if problems is None:
                continue
            results[folder.name].append(not problems)
            if problems:
                failed.append(f"{folder.name}/{name}: {', '.join(problems)}")
    total = sum(len(v) for v in results.values())
    passed = sum(sum(v) for v in results.values())
    by_policy = [f for f in failed if f.split(":")[0] in POLICY]
    counted = total - len(by_policy)
    print()
    for source, outcomes in sorted(results.items()):
        rate = 100 * sum(outcomes) / len(outcomes)
        print(f"  {source}: {sum(outcomes)}/{len(outcomes)} ({rate:.0f}%)")
    print(f"  overall: {passed}/{total} ({100 * passed / total:.1f}%)")
    print(
        f"  overall without the {len(by_policy)} policy differences: "
        f"{passed}/{counted} ({100 * passed / counted:.1f}%)"
    )
    for line in failed:
        name = line.split(":")[0]
        why = f" (policy: {POLICY[name]})" if name in POLICY else ""
        print(f"  {'POLICY' if why else 'FAIL'} {line}{why}")
    italian_failures = [f for f in failed if f.split(":")[0] in ITALIAN]
    assert italian_failures == []
    assert passed / total >= 0.93, f"raw pass rate {passed / total:.1%} fell below 93%"
    assert passed / counted >= 0.95, f"pass rate {passed / counted:.1%} below the issue's 95%"
