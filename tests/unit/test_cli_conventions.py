"""The command line as an admin meets it: nothing from a stranger's mail acts on the terminal,
lists line up and cut long cells, no codice fiscale in a list, the usual conventions
(--version, -h, NAME placeholders, choices checked), English throughout."""

from __future__ import annotations

import json
import mailbox

import pytest

from support.app import run_cli, write_config

OSC = "\x1b]0;pwned\x07"
RLO = "\u202e"


@pytest.fixture
def office(tmp_path):
    registry = tmp_path / "registry.csv"
    registry.write_text(
        "codice_fiscale,name,email,pec,postal_address\n"
        "RSSMRA80A01H501U,Mario Rossi,mario.rossi80@example.net,,Via Roma 1\n",
        encoding="utf-8",
    )
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    subject = f"Buca {OSC}in via{RLO} Verdi " + "molto lunga " * 20
    box.add(
        (
            "From: Mario Rossi <mario.rossi80@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
            f"Subject: {subject}\r\nMessage-ID: <osc@example.net>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nBuca.\r\n"
        ).encode()
    )
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    for args in (("db", "upgrade"), ("registry", "import", str(registry)), ("run", "--once")):
        done = run_cli("--config", str(config), *args)
        assert done.returncode == 0, done.stderr
    return config


def mb(config, *args):
    return run_cli("--config", str(config), *args)


def test_escape_sequences_and_bidi_controls_never_reach_the_terminal(office):
    for args in (
        ("workorders", "list"),
        ("workorders", "show", "2026/000001"),
        ("inbound", "list"),
        ("workorders", "list", "--json"),
        ("inbound", "list", "--json"),
    ):
        out = mb(office, *args).stdout
        assert "\x1b" not in out and "\x07" not in out and RLO not in out, args
        assert "Buca" in out and "in via" in out, args


def test_what_is_printed_is_neutralised_and_json_still_round_trips():
    from mailbot import terminal

    hostile = f"Buca{OSC}{RLO}fdp.exe\u200b\x9b2J"
    assert terminal.safe(hostile) == "Buca]0;pwned<U+202E>fdp.exe<U+200B>2J"
    text = terminal.safe_json({"subject": hostile})
    assert "\x1b" not in text and RLO not in text and "\x9b" not in text
    assert json.loads(text) == {"subject": hostile}


def test_lists_line_up_cut_long_subjects_and_show_no_codice_fiscale(office):
    out = mb(office, "workorders", "list").stdout.splitlines()
    header, row = out[0], out[1]
    assert header.split() == ["NUMBER", "STATUS", "OFFICE", "DUE", "CONTACT", "SUBJECT"]
    assert row.index("open") == header.index("STATUS")
    assert row.index("mario.rossi80@example.net") == header.index("CONTACT")
    assert row.endswith("…") and "RSSMRA80A01H501U" not in row


def test_show_says_how_the_case_was_linked(office):
    out = mb(office, "workorders", "show", "2026/000001").stdout
    assert "Match: rule registry_address, state unverified, sender UNVERIFIED" in out


def test_version_short_help_and_placeholders():
    assert run_cli("--version").stdout.strip() == "mailbot 0.1.0"
    short = run_cli("workorders", "reply", "-h")
    assert short.returncode == 0 and "--file FILE" in short.stdout
    assert "Usage: mailbot workorders reply [OPTIONS] NUMBER" in short.stdout
    assert "<str>" not in short.stdout and "{number}" not in short.stdout
    assert "<list[Path]>" not in short.stdout and "--attach ATTACH" in short.stdout
    purge = run_cli("purge", "--help").stdout
    assert "[retention] cases" in purge  # square brackets survive in help texts


@pytest.mark.parametrize(
    "args",
    [
        ("--log-level", "bogus", "workorders", "list"),
        ("inbound", "list", "--status", "bogus"),
        ("inbound", "list", "--limit", "-1"),
        ("workorders", "list", "--status", "bogus"),
    ],
)
def test_bad_choices_are_refused_not_ignored(office, args):
    done = mb(office, *args)
    assert done.returncode == 2 and "Invalid value" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_does_not_speak_of_a_login_for_a_maildir(office):
    out = mb(office, "check").stdout
    assert "mailbox suggerimenti: Maildir" in out and ": readable" in out
    assert "login accepted" not in out.split("mailbox suggerimenti")[1].splitlines()[0]
