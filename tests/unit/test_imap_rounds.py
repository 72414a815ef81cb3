"""A batch's bodies come in rounds of up to FETCH_BYTES, each fetched when the first of its
messages is asked for (ingest/imap_rounds.py)."""

from __future__ import annotations

from mailbot.ingest import imap_rounds
from mailbot.ingest.imap_rounds import Bodies

MB = 1_000_000


class Client:
    """Answers BODY.PEEK[] with each message's bytes, and (like a server telling of a flag
    another client changed) an unasked FLAGS entry for the next UID."""

    def __init__(self) -> None:
        self.fetches: list[list[int]] = []

    def fetch(self, uids, items):
        self.fetches.append(list(uids))
        answer = {uid: {b"BODY[]": f"body {uid}".encode(), b"SEQ": uid} for uid in uids}
        answer[max(uids) + 1] = {b"FLAGS": (b"\\Seen",), b"SEQ": max(uids) + 1}
        return answer


def meta(sizes: dict[int, int]) -> dict[int, dict[bytes, object]]:
    return {uid: {b"RFC822.SIZE": size} for uid, size in sizes.items()}


def test_rounds_by_size_each_fetched_when_first_asked_for():
    client = Client()
    sizes = {1: 3 * MB, 2: 3 * MB, 3: MB // 2, 4: 5 * MB}
    bodies = Bodies(client, [1, 2, 3, 4], meta(sizes))
    assert client.fetches == []
    assert bodies.take(1) == b"body 1"
    assert client.fetches == [[1]]
    # The answer for 1 also spoke of 2 (flags only): 2's round is still fetched.
    assert [bodies.take(uid) for uid in (2, 3, 4)] == [b"body 2", b"body 3", b"body 4"]
    assert client.fetches == [[1], [2, 3], [4]]  # 4 alone: over the budget by itself
    assert imap_rounds.FETCH_BYTES == 4 * MB


def test_a_message_missing_from_its_rounds_answer_is_none_and_the_next_round_comes():
    class Expunged(Client):
        def fetch(self, uids, items):
            answer = super().fetch(uids, items)
            answer.pop(2, None)  # expunged between SEARCH and FETCH
            return answer

    client = Expunged()
    bodies = Bodies(client, [1, 2, 3], meta({1: MB, 2: MB, 3: 3 * MB}))
    assert [bodies.take(uid) for uid in (1, 2, 3)] == [b"body 1", None, b"body 3"]
    assert client.fetches == [[1, 2], [3]]
