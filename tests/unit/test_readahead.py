"""Reading ahead in a process of its own (runtime/readahead.py): every message comes back in
order with its own digest and what the pipeline itself would have read; whatever the child
cannot give (a failure, an oversized original, a dead child) is left to the caller."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from datetime import UTC, datetime

from mailbot.ingest import reading
from mailbot.runtime.readahead import ReadAhead
from mailbot.storage import Store
from mailbot.types import Origin

from support.app import complaint

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def origin(n: int, **extra: object) -> Origin:
    return Origin(mailbox="suggerimenti", received_at=WHEN, uidvalidity=1, uid=n, **extra)  # type: ignore[arg-type]


def items(count: int) -> list[tuple[Origin, bytes]]:
    return [
        (origin(n), complaint(n, subject=f"Reclamo {n} " + "x" * (n * 997))) for n in range(count)
    ]


def warm(ahead: ReadAhead) -> None:
    """Wait for the child's first answer, so that the next messages are all read by it."""
    for _ in range(200):
        [(_o, _raw, read)] = ahead.stream(items(1))
        if read is not None:
            return
        time.sleep(0.05)
    raise AssertionError("the read-ahead child never answered")


def test_each_message_comes_back_in_order_stored_and_read_as_the_pipeline_reads(tmp_path):
    store = Store(tmp_path / "store")
    store.ensure()
    ahead = ReadAhead(store.objects.parent, start_after=1)
    try:
        warm(ahead)
        given = items(30)
        got = list(ahead.stream(given))
    finally:
        ahead.close()
    assert [o for o, _raw, _a in got] == [o for o, _raw in given]
    assert all(a is not None for _o, _raw, a in got)  # a warm child reads every one
    for _o, raw, a in got:
        if a is None:
            continue
        assert a.digest == hashlib.sha256(raw).hexdigest()
        assert store.get(a.digest) == raw  # the evidence is in the store before it is filed
        certified, parsed = a.read
        here = reading.read(raw)[1]
        assert certified is None and parsed == here


def test_what_the_child_cannot_do_is_left_to_the_caller(tmp_path):
    """A store the child cannot write to (the caller then meets the same error and the
    pipeline records it as it does today): nothing comes back read, nothing is lost."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    ahead = ReadAhead(blocked, start_after=1)
    try:
        got = list(ahead.stream(items(12)))
        again = list(ahead.stream(items(3)))  # the child is still there for the next ones
    finally:
        ahead.close()
    assert [a for _o, _r, a in got + again] == [None] * 15
    assert [o.uid for o, _r, _a in got] == list(range(12))


def test_an_oversized_original_already_in_the_store_is_not_sent(tmp_path):
    ahead = ReadAhead(tmp_path, start_after=1)
    big = origin(7, stored_sha256="ab" * 32, size=40_000_000)
    try:
        warm(ahead)
        got = list(
            ahead.stream(
                [(origin(1), complaint(1)), (big, complaint(7)), (origin(2), complaint(2))]
            )
        )
    finally:
        ahead.close()
    assert got[1][2] is None
    assert got[2][2] is not None and got[2][2].digest == hashlib.sha256(complaint(2)).hexdigest()


def test_the_child_reads_on_while_the_caller_files(tmp_path):
    """The drain takes no result while it files a group; the child meanwhile stores and reads
    the next messages, each result taken off the pipe as it comes. (When the results waited
    in the pipe, a result larger than the pipe held the child until the drain asked for it.)"""
    store = Store(tmp_path / "store")
    store.ensure()
    ahead = ReadAhead(store.objects.parent, start_after=1)
    text = b"\n".join(
        [b"Testo del reclamo, riga dopo riga."] * 9_000
    )  # ~310 KB, more than the pipe holds
    big = [(origin(n), complaint(n).replace(b"Reclamo numero", text + b"\n", 1)) for n in range(6)]
    try:
        warm(ahead)
        stream = ahead.stream(big)
        first = next(stream)  # the caller files this one, and asks for nothing meanwhile
        digests = [hashlib.sha256(raw).hexdigest() for _o, raw in big]
        for _ in range(400):
            if all(store.path(d).exists() for d in digests):
                break
            time.sleep(0.05)
        stored = [store.path(d).exists() for d in digests]
        rest = list(stream)
    finally:
        ahead.close()
    assert stored == [True] * 6  # all read ahead before the caller asked for the second
    assert [o.uid for o, _r, _a in [first, *rest]] == list(range(6))
    assert all(
        a is not None and a.digest == d
        for (_o, _r, a), d in zip([first, *rest], digests, strict=True)
    )


def test_a_caller_that_stops_early_reads_on_in_step(tmp_path):
    """The drain stops between two messages (a lease lost, a stop): results still owed are
    read and dropped, so the next stream's answers belong to its own messages."""
    ahead = ReadAhead(tmp_path, start_after=1, window=6)
    try:
        warm(ahead)
        for origin_, _raw, _a in ahead.stream(items(20)):
            if origin_.uid == 3:
                break
        given = items(8)[4:]
        got = list(ahead.stream(given))
    finally:
        ahead.close()
    assert [o for o, _r, _a in got] == [o for o, _r in given]
    for _o, raw, a in got:
        assert a is None or a.digest == hashlib.sha256(raw).hexdigest()


def test_a_child_that_dies_leaves_the_rest_to_the_caller(tmp_path):
    ahead = ReadAhead(tmp_path, start_after=1)
    try:
        warm(ahead)
        assert ahead._process is not None and ahead._process.pid is not None
        os.kill(ahead._process.pid, signal.SIGKILL)
        ahead._process.join(5)
        got = list(ahead.stream(items(6)))
    finally:
        ahead.close()
    assert [o.uid for o, _r, _a in got] == list(range(6))
    assert all(a is None for _o, _r, a in got)
    assert not ahead.running


def test_a_short_run_starts_no_child(tmp_path):
    ahead = ReadAhead(tmp_path, start_after=20)
    try:
        got = list(ahead.stream(items(19)))
    finally:
        ahead.close()
    assert all(a is None for _o, _r, a in got) and not ahead.running


def test_the_child_also_peeks_and_asks_the_filters_headers_under_the_runs_settings(tmp_path):
    """The ledger's peek and the upstream filters' verdict come back with what it read, the
    same as the pipeline would find them; without [spam] settings the verdict is left to it."""
    import tomllib

    from mailbot.config.policy_reader import read_spam
    from mailbot.config.table import Table
    from mailbot.ingest import spam
    from mailbot.ingest.peek import peek

    from support.app import fixture_bytes

    trusted = '[spam]\ntrusted_hosts = ["imap.comune.example.it", "mx1.comune.example.it"]\n'
    settings = read_spam(Table(tomllib.loads(trusted)["spam"], "spam"))
    flagged, clean = fixture_bytes("spam/spamassassin_flag_yes.eml"), complaint(2)
    given = [(origin(1), flagged), (origin(2), clean)]
    judged = ReadAhead(tmp_path / "a", settings, start_after=1)
    unjudged = ReadAhead(tmp_path / "b", start_after=1)
    try:
        warm(judged)
        warm(unjudged)
        with_settings = [a for _o, _r, a in judged.stream(given)]
        without = [a for _o, _r, a in unjudged.stream(given)]
    finally:
        judged.close()
        unjudged.close()
    assert all(a is not None for a in with_settings + without)
    assert [a.peeked for a in with_settings] == [peek(flagged), peek(clean)]
    verdict = spam.header_verdict(flagged, settings)
    assert verdict is not None and verdict.filter == "spamassassin"
    assert [(a.judged, a.filtered) for a in with_settings] == [(True, verdict), (True, None)]
    assert [(a.judged, a.filtered) for a in without] == [(False, None), (False, None)]
