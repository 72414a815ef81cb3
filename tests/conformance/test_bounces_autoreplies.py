"""Machine mail conformance over ../shared/corpus/bounces (sisimai) and autoreplies: is each
file recognised for what it is (a delivery report, an auto-reply, a person), and does the
report reading find the verdict and status codes sisimai's own tests expect? Prints accuracy."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mailbot.errors import MailError
from mailbot.ingest import bounce, classify
from mailbot.ingest.parse import parse
from mailbot.types import Kind

from .test_corpus import CORPUS

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not (CORPUS / "bounces").is_dir(), reason=f"corpus not found at {CORPUS}"),
]
CONTEXT = classify.Context(own_addresses=frozenset({"suggerimenti@comune.example.it"}))


def kind_of(raw: bytes) -> Kind | None:
    """None when the message cannot be parsed at all: the pipeline rejects (and keeps) it."""
    try:
        return classify.classify(parse(raw), CONTEXT).kind
    except MailError:
        return None


def test_sisimai_delivery_reports():
    folder = CORPUS / "bounces" / "sisimai"
    cases = json.loads((folder / "EXPECTED.json").read_text())["cases"]
    score: Counter[str] = Counter()
    misses: list[str] = []
    became_case: list[str] = []
    for name, case in sorted(cases.items()):
        raw = (folder / name).read_bytes()
        expected = case["verdict"]
        kind = kind_of(raw)
        is_report = expected in ("bounce", "feedback_report", "dsn_success")
        recognised = (kind is Kind.BOUNCE) if is_report else (kind is not Kind.BOUNCE)
        score["recognised"] += recognised
        if not recognised:
            misses.append(f"{name}: {expected}, classified {kind}")
        if not is_report:
            # A person's mail among the reports still gets its case.
            score["people_with_a_case"] += kind is Kind.CITIZEN
            continue
        # A report must never become a case, whichever machine-mail rule caught it.
        if kind in (Kind.CITIZEN, Kind.CITIZEN_FOLLOWUP):
            became_case.append(name)
        else:
            score["never_a_case"] += 1
        report = bounce.read(raw)
        verdict_ok = report.verdict == expected or (
            expected == "bounce" and report.verdict == "delayed"
        )
        score["verdict"] += verdict_ok
        wanted = {r["status"] for r in case.get("recipients", []) if r.get("status")}
        if wanted and expected == "bounce":
            score["status_cases"] += 1
            score["status"] += bool(wanted & {r.status for r in report.recipients})
    reports = sum(1 for c in cases.values() if c["verdict"] != "not_bounce")
    print(f"\n  sisimai: {len(cases)} files, {reports} reports")
    print(
        f"  recognised as report / not report: {score['recognised']}/{len(cases)} ({score['recognised'] / len(cases):.1%})"
    )
    print(f"  reports that never became a case: {score['never_a_case']}/{reports}")
    print(f"  verdict: {score['verdict']}/{reports} ({score['verdict'] / reports:.1%})")
    print(
        f"  expected status code found: {score['status']}/{score['status_cases']} ({score['status'] / score['status_cases']:.1%})"
    )
    for miss in misses[:15]:
        print(f"  MISS {miss}")
    people = len(cases) - reports
    print(f"  people's mail that got its case: {score['people_with_a_case']}/{people}")
    assert score["people_with_a_case"] == people
    assert set(became_case) <= KNOWN_CASES, sorted(set(became_case) - KNOWN_CASES)
    assert score["recognised"] / len(cases) >= FLOORS["recognised"]
    assert score["verdict"] / reports >= FLOORS["verdict"]
    assert score["status"] / score["status_cases"] >= FLOORS["status"]


VERDICT_KIND = {
    "autoreply": Kind.AUTO_GENERATED,
    "auto_generated": Kind.AUTO_GENERATED,
    "bounce": Kind.BOUNCE,
    "human": Kind.CITIZEN,
}


def test_autoreplies():
    results = []
    for expected_file in sorted((CORPUS / "autoreplies").glob("*/EXPECTED.json")):
        for name, case in json.loads(expected_file.read_text())["cases"].items():
            want = VERDICT_KIND[case["verdict"]]
            got = kind_of((expected_file.parent / name).read_bytes())
            results.append((f"{expected_file.parent.name}/{name}", want, got))
    passed = sum(want == got for _, want, got in results)
    print(f"\n  autoreplies: {passed}/{len(results)}")
    for name, want, got in results:
        if want != got:
            print(f"  MISS {name}: expected {want}, got {got}")
    assert passed == len(results)


# Measured floors (regression guards); the printed figures are the result.
FLOORS = {"recognised": 0.96, "verdict": 0.98, "status": 0.69}
# Reports that reach the office as a case. None any more: a person forwarding a bounce by hand
# and Hotmail's complaints (a plain forward with the returned message) are reports too.
KNOWN_CASES: set[str] = set()
