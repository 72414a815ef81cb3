"""Our Message-IDs are signed; subject tags are added once."""

from __future__ import annotations

from mailbot.replies.threading import (
    make_message_id,
    number_in_subject,
    tagged_subject,
    verify_message_id,
)

SECRET = b"k" * 32


def test_message_id_names_the_work_order_and_verifies():
    mid = make_message_id(SECRET, "2026/000123", "confirmation", "comune.example.it")
    assert mid.startswith("<mb.2026-000123.c.") and mid.endswith("@comune.example.it>")
    assert len(f"Message-ID: {mid}") <= 78  # fits one header line: no folding
    assert verify_message_id(SECRET, mid) == "2026/000123"


def test_forged_or_foreign_message_ids_do_not_verify():
    mid = make_message_id(SECRET, "2026/000123", "confirmation", "comune.example.it")
    assert verify_message_id(b"x" * 32, mid) is None  # other server's secret
    forged = mid.replace("2026-000123", "2026-000124")
    assert verify_message_id(SECRET, forged) is None
    assert verify_message_id(SECRET, "<CAF=abc@mail.gmail.com>") is None


def test_two_ids_for_the_same_case_differ():
    a = make_message_id(SECRET, "2026/000001", "confirmation", "x.it")
    b = make_message_id(SECRET, "2026/000001", "confirmation", "x.it")
    assert a != b


def test_subject_is_tagged_once():
    assert tagged_subject("2026/000007", "Buca") == "[Pratica 2026/000007] Buca"
    assert (
        tagged_subject("2026/000007", "R: [Pratica 2026/000007] Buca")
        == "[Pratica 2026/000007] R: Buca"
    )
    assert tagged_subject("2026/000007", "") == "[Pratica 2026/000007]"
    assert number_in_subject("RE: [pratica 2026/000007] Buca") == "2026/000007"
    assert number_in_subject("Pratica 2026/7") is None
