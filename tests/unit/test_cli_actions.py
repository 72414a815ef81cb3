"""The same operator actions from the command line, for those without email access."""

from __future__ import annotations

import email
import json
import mailbox
from email.policy import default

import pytest

from support.app import fixture_bytes, run_cli, write_config

OPERATOR = "mario.rossi@comune.example.it"


def mb(config, *args):
    return run_cli("--config", str(config), *args)


@pytest.fixture
def config(tmp_path):
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(mailbox.MaildirMessage(fixture_bytes("citizen_plain.eml")))
    path = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert run_cli("--config", str(path), "run", "--once").returncode == 0
    return path


def sent(path):
    files = sorted((path.parent / "sent").glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes(), policy=default) for f in files]


def _answer(message) -> bool:
    body = message.get_body(("plain",))
    return body is not None and "la buca è stata riparata." in body.get_content()


def show(path):
    return json.loads(
        run_cli("--config", str(path), "workorders", "show", "2026/000001", "--json").stdout
    )


def test_reply_with_attachment_reaches_the_citizen(config, tmp_path):
    body = tmp_path / "risposta.txt"
    body.write_text("Gentile signore,\nla buca è stata riparata.\n", encoding="utf-8")
    pdf = tmp_path / "verbale.pdf"
    pdf.write_bytes(b"%PDF-1.4 verbale")
    result = mb(
        config,
        "workorders",
        "reply",
        "2026/000001",
        "--operator",
        OPERATOR,
        "--file",
        str(body),
        "--attach",
        str(pdf),
    )
    assert result.returncode == 0, result.stderr
    assert "outbox: 1 sent" in result.stdout
    # the operator's answer, whichever file name sorts last (names are each process's clock)
    [relay] = [m for m in sent(config) if m.get_filename() is None and _answer(m)]
    assert relay["To"].addresses[0].addr_spec == "mario.bianchi@example.net"
    assert relay["From"].addresses[0].display_name == "Ufficio Relazioni con il Pubblico"
    assert relay["From"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
    assert "la buca è stata riparata." in relay.get_body(("plain",)).get_content()
    [attachment] = list(relay.iter_attachments())
    assert attachment.get_filename() == "verbale.pdf"
    assert attachment.get_content() == b"%PDF-1.4 verbale"
    assert [m["kind"] for m in show(config)["messages"]][-2:] == ["operator_reply", "relay"]


def test_note_close_and_reopen(config):
    assert (
        mb(
            config,
            "workorders",
            "note",
            "2026/000001",
            "--operator",
            OPERATOR,
            "Chiamato il cantiere.",
        ).returncode
        == 0
    )
    assert mb(config, "workorders", "close", "2026/000001", "--operator", OPERATOR).returncode == 0
    assert show(config)["status"] == "closed"
    assert mb(config, "workorders", "reopen", "2026/000001", "--operator", OPERATOR).returncode == 0
    detail = show(config)
    assert detail["status"] == "open"
    assert "note" in [m["kind"] for m in detail["messages"]]
    # confirmation, notification and the closing message: the note never reaches the citizen
    assert len(sent(config)) == 3
    assert not any(
        "Chiamato il cantiere" in m.get_body(("plain",)).get_content() for m in sent(config)
    )


def test_actions_refuse_clearly(config, tmp_path):
    stranger = mb(config, "workorders", "close", "2026/000001", "--operator", "x@example.org")
    assert stranger.returncode == 2
    assert "x@example.org is not an operator of office urp" in stranger.stderr
    bad_office = mb(
        config,
        "workorders",
        "assign",
        "2026/000001",
        "--operator",
        OPERATOR,
        "nessuno",
    )
    # In English, as the rest of the command line (an email gets the operator's language)
    assert bad_office.returncode == 2 and "#assegna: no office 'nessuno'" in bad_office.stderr
    missing = mb(config, "workorders", "close", "2026/000999", "--operator", OPERATOR)
    assert missing.returncode == 1 and "no work order 2026/000999" in missing.stderr
    for result in (stranger, bad_office, missing):
        assert "Traceback" not in result.stderr


def test_list_filters_by_office_and_status(config):
    listed = json.loads(
        mb(
            config,
            "workorders",
            "list",
            "--json",
            "--office",
            "urp",
            "--status",
            "open",
        ).stdout
    )
    assert [w["number"] for w in listed] == ["2026/000001"]
    assert json.loads(mb(config, "workorders", "list", "--json", "--status", "closed").stdout) == []


def test_export_html_and_eml_and_send(config, tmp_path):
    mb(
        config,
        "workorders",
        "note",
        "2026/000001",
        "--operator",
        OPERATOR,
        "Nota interna.",
    )
    html = mb(config, "workorders", "export", "2026/000001", "--format", "html")
    assert html.returncode == 0, html.stderr
    assert "<h1>Pratica n. 2026/000001</h1>" in html.stdout
    assert "segnalo una buca profonda" in html.stdout and "Nota interna." in html.stdout
    assert "pratica aperta" in html.stdout  # the event log, in words (issue 27)
    out = tmp_path / "fascicolo.eml"
    eml = mb(
        config,
        "workorders",
        "export",
        "2026/000001",
        "--format",
        "eml",
        "--out",
        str(out),
    )
    assert eml.returncode == 0, eml.stderr
    bundle = email.message_from_bytes(out.read_bytes(), policy=default)
    names = [part.get_filename() for part in bundle.iter_attachments()]
    assert names[0] == "pratica-2026-000001.html"
    assert names[1:] == ["01-citizen.eml", "02-confirmation.eml", "03-notification.eml"]
    original = next(p for p in bundle.iter_attachments() if p.get_filename() == "01-citizen.eml")
    # byte for byte what the mailbox held (Python's mailbox module stores Maildir files with LF)
    assert original.get_content() == fixture_bytes("citizen_plain.eml").replace(b"\r\n", b"\n")
    sent_before = len(sent(config))
    mailed = mb(
        config,
        "workorders",
        "export",
        "2026/000001",
        "--send-to",
        "archivio@comune.example.it",
    )
    assert mailed.returncode == 0, mailed.stderr
    assert (
        sent(config)[sent_before:][0]["To"].addresses[0].addr_spec == "archivio@comune.example.it"
    )
    pdf = tmp_path / "fascicolo.pdf"
    made = mb(
        config,
        "workorders",
        "export",
        "2026/000001",
        "--format",
        "pdf",
        "--out",
        str(pdf),
    )
    assert made.returncode == 0, made.stderr
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Pratica n. 2026/000001" in text
    assert "segnalo una buca profonda" in text and "ciclista è caduto" in text
    assert "Nota interna." in text and "pratica aperta" in text
    bad = mb(config, "workorders", "export", "2026/000001", "--format", "docx")
    assert bad.returncode == 2 and "--format: must be one of html, pdf, eml" in bad.stderr


def test_closing_twice_is_refused_and_sends_one_closing_letter(config):
    first = mb(config, "workorders", "close", "2026/000001", "--operator", OPERATOR)
    assert first.returncode == 0, first.stderr
    again = mb(config, "workorders", "close", "2026/000001", "--operator", OPERATOR)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "2026/000001 is already closed: nothing done, nothing sent" in again.stderr
    closing = [m for m in sent(config) if "chius" in m["Subject"].lower()]
    assert len(closing) == 1
    # The close is an event, not a message: no empty operator reply in the conversation.
    assert [m["kind"] for m in show(config)["messages"]][-1] == "closing"
    assert not [m for m in show(config)["messages"] if m["kind"] == "operator_reply"]


def test_reply_is_the_reasoned_reply_unless_interim(config, tmp_path):
    body = tmp_path / "risposta.txt"
    body.write_text("Stiamo verificando.\n", encoding="utf-8")
    args = ("workorders", "reply", "2026/000001", "--operator", OPERATOR, "--file", str(body))
    interim = mb(config, *args, "--interim")
    assert interim.returncode == 0, interim.stderr
    assert show(config)["charter"]["reasoned_reply_at"] is None
    plain = mb(config, *args)
    assert "recorded as the reasoned reply" in plain.stdout
    assert show(config)["charter"]["reasoned_reply_at"] is not None
    both = mb(config, *args, "--interim", "--answer")
    assert both.returncode == 2 and "cannot go together" in both.stderr


def test_void_keeps_the_number_marks_list_and_show_and_refuses_twice(config):
    no_reason = mb(config, "workorders", "void", "2026/000001", "--reason", " ")
    assert no_reason.returncode == 2 and "say why" in no_reason.stderr
    done = mb(
        config, "workorders", "void", "2026/000001", "--reason", "mail interna", "--by", "ada"
    )
    assert done.returncode == 0, done.stderr
    assert "2026/000001: voided (mail interna)" in done.stdout
    again = mb(config, "workorders", "void", "2026/000001", "--reason", "ancora")
    assert again.returncode == 2 and "already void" in again.stderr
    assert "Traceback" not in again.stderr + no_reason.stderr
    listed = mb(config, "workorders", "list").stdout
    assert "2026/000001  void" in listed
    [row] = json.loads(mb(config, "workorders", "list", "--json").stdout)
    assert row["void"]["reason"] == "mail interna" and row["void"]["by"] == "ada"
    shown = mb(config, "workorders", "show", "2026/000001").stdout
    assert "VOID (annullata)" in shown and "by ada: mail interna" in shown
    closing = mb(config, "workorders", "close", "2026/000001", "--operator", OPERATOR)
    assert closing.returncode == 2 and "is void (mail interna)" in closing.stderr


def test_every_view_of_a_case_is_recorded_and_shown(config):
    # Who read a citizen's personal data, and when: the brief's accountability rule.
    first = mb(config, "workorders", "show", "2026/000001", "--by", "anna.neri")
    assert first.returncode == 0
    assert first.stdout.rstrip().splitlines()[-1].endswith("by anna.neri (cli)")
    detail = json.loads(
        mb(config, "workorders", "show", "2026/000001", "--json", "--by", "luca").stdout
    )
    assert [(v["by"], v["via"]) for v in detail["views"]] == [("anna.neri", "cli"), ("luca", "cli")]
    missing = mb(config, "workorders", "show", "2026/000999")
    assert missing.returncode == 1 and "no work order 2026/000999" in missing.stderr
