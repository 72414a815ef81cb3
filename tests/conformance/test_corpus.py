"""Conformance over the third-party corpus in ../shared/corpus (real mail from public projects).

It is read in place, never copied into the repository; when it is absent these tests skip and
say so. Every file goes through the whole pipeline: nothing raises, nothing is lost (each is
filed, ignored or rejected with a reason, and its original bytes are kept), and no file is
quarantined, since a quarantine means an unexpected error in our code.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.pipeline import process_inbound
from mailbot.types import LedgerStatus, Origin

from support.app import REPO, make_services, write_config

CORPUS = Path(os.environ.get("MAILBOT_CORPUS", REPO.parent / "shared" / "corpus"))
pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"third-party corpus not found at {CORPUS}"),
]
MAIL_SUFFIXES = {".eml", ".txt", ".msg", ".mbox", ""}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.suffix.lower() in MAIL_SUFFIXES
        and p.name not in ("README.md",)
        and not p.name.startswith(".")
    )


@pytest.fixture(scope="module")
def corpus_services(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    (base / "maildir").mkdir()
    services = make_services(write_config(base / "mailbot.toml"))
    yield services
    services.engine.dispose()


def test_every_corpus_file_is_processed_or_rejected_never_lost(corpus_services):
    files = corpus_files()
    assert len(files) > 600, f"expected the whole corpus, found {len(files)} files"
    outcomes: Counter[str] = Counter()
    problems = []
    for n, path in enumerate(files):
        raw = path.read_bytes()
        origin = Origin("suggerimenti", datetime(2026, 3, 2, tzinfo=UTC), source_ref=f"corpus-{n}")
        outcome = process_inbound(corpus_services, raw, origin)
        outcomes["duplicate" if outcome.duplicate else str(outcome.status)] += 1
        if outcome.status is LedgerStatus.QUARANTINED:
            problems.append(f"{path.relative_to(CORPUS)}: {outcome.reason}")
        if outcome.status in (LedgerStatus.REJECTED, LedgerStatus.IGNORED):
            assert outcome.reason, path
        assert corpus_services.store.get(corpus_services.store.put(raw)) == raw
    print(f"\ncorpus: {len(files)} files: {dict(sorted(outcomes.items()))}")
    assert problems == []


RECIPE_VERDICT = {"ignore": LedgerStatus.IGNORED, "process": LedgerStatus.FILED}


def test_redmine_auto_submitted_recipes(corpus_services):
    folder = CORPUS / "autoreplies" / "redmine-recipes"
    expected = json.loads((folder / "EXPECTED.json").read_text())
    for n, recipe in enumerate(expected["recipes"]):
        base = (folder / recipe["base"]).read_bytes()
        raw = recipe["prepend_header"].encode() + b"\n" + base
        raw = raw.replace(b"Message-ID: <", f"Message-ID: <recipe{n}.".encode(), 1)
        origin = Origin("suggerimenti", datetime(2026, 3, 2, tzinfo=UTC), source_ref=f"recipe-{n}")
        outcome = process_inbound(corpus_services, raw, origin)
        want = RECIPE_VERDICT[recipe["verdict"].split()[0]]
        assert outcome.status is want, (recipe, outcome)
