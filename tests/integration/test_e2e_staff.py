"""Staff mail on real Dovecot and SMTP servers (issue 29): a municipality whose URP gets a copy
of every letter, whose Dirigente answers for his office, and a colleague of another office to
whom the notification was forwarded. Only the office's voice reaches the citizen; the URP's and
the colleague's mails are internal notes, the suspended case stays suspended."""

from __future__ import annotations

import json

import pytest

from .test_e2e_conversation import arrives, plain
from support.app import run_cli, write_config
from support.mail import Post

pytestmark = pytest.mark.integration

INSTITUTION = "suggerimenti@comune.example.it"
OFFICE = "urp@comune.example.it"
OPERATOR = "mario.rossi@comune.example.it"
DIRIGENTE = "dirigente.urp@comune.example.it"
URP_COPY = "archivio.urp@comune.example.it"
COLLEAGUE = "luca.verdi@comune.example.it"
CITIZEN = "giulia.verdi@example.net"


@pytest.mark.today("2026-12-01T09:00:00+00:00")
def test_only_the_office_reaches_the_citizen_and_staff_notes_leave_the_clock_alone(
    tmp_path, dovecot, imap_user, fresh_imap_user, smtp
):
    from support.app import imap_mailbox

    config = write_config(
        tmp_path / "mailbot.toml",
        smtp_port=smtp.port,
        mailbox=imap_mailbox(dovecot.port, imap_user, poll_seconds=2),
        extra=f'[[offices]]\nid = "lavori"\nname = "Lavori pubblici"\n'
        f'email = "lavori@comune.example.it"\noperators = ["{COLLEAGUE}"]\n',
    )
    config.write_text(
        config.read_text().replace(
            f'operators = ["{OPERATOR}"]',
            f'operators = ["{OPERATOR}"]\nmanager = "{DIRIGENTE}"\ncopy_to = "{URP_COPY}"',
        )
    )
    people = (OFFICE, CITIZEN, OPERATOR, DIRIGENTE, URP_COPY, COLLEAGUE, "lavori@comune.example.it")
    post = Post(dovecot, smtp, {INSTITUTION: imap_user, **{p: fresh_imap_user() for p in people}})

    def run():
        result = run_cli("--config", str(config), "run", "--once")
        assert result.returncode == 0, result.stderr
        post.deliver()

    def show():
        shown = run_cli("--config", str(config), "workorders", "show", "2026/000001", "--json")
        return json.loads(shown.stdout)

    arrives(dovecot, imap_user, f"Giulia Verdi <{CITIZEN}>", INSTITUTION, "Buca in via Verdi",
            "C'è una buca davanti al civico 12.", msgid="<buca-1@example.net>")  # fmt: skip
    run()
    [notification] = post.inbox(OFFICE)
    # The operator asks the citizen a question: the clock stops.
    arrives(dovecot, imap_user, OPERATOR, INSTITUTION, f"R: {notification['Subject']}",
            "#sospendi Ci serve una foto della buca.",
            in_reply_to=notification["Message-ID"].strip())  # fmt: skip
    run()
    suspended = show()
    assert suspended["status"] == "suspended"
    [question_copy] = post.inbox(URP_COPY)  # the URP has its copy of the letter
    due = suspended["due_at"]

    # The URP answers its copy; a colleague answers the notification forwarded to him.
    arrives(dovecot, imap_user, URP_COPY, INSTITUTION, f"R: {question_copy['Subject']}",
            "Il cittadino ha già mandato la foto allo sportello.",
            in_reply_to=question_copy["Message-ID"].strip())  # fmt: skip
    arrives(dovecot, imap_user, COLLEAGUE, INSTITUTION, f"R: {notification['Subject']}",
            "La buca è nel cantiere di via Verdi, ci pensiamo noi.",
            in_reply_to=notification["Message-ID"].strip())  # fmt: skip
    run()
    after = show()
    assert after["status"] == "suspended" and after["due_at"] == due  # the clock untouched
    assert len(post.inbox(CITIZEN)) == 2  # the confirmation and the question, nothing more
    notes = [m for m in post.inbox(OFFICE) if "Nota interna" in m["Subject"]]
    assert len(notes) == 2 and "ci pensiamo noi" in plain(notes[1])
    for writer in (URP_COPY, COLLEAGUE):
        told = post.inbox(writer)[-1]
        assert "NON è stato inviato al cittadino" in plain(told)
    assert "citizen_followup" not in [m["kind"] for m in after["messages"]]

    # The Dirigente answers the notification: the office's reply, copied to the URP.
    arrives(dovecot, imap_user, f"Dott. Neri <{DIRIGENTE}>", INSTITUTION,
            f"R: {notification['Subject']}", "#chiudi\nLa buca è stata chiusa oggi.",
            in_reply_to=notification["Message-ID"].strip())  # fmt: skip
    run()
    answer = post.inbox(CITIZEN)[2]
    assert plain(answer).startswith("La buca è stata chiusa oggi.")
    assert DIRIGENTE not in answer.as_string()
    assert any("La buca è stata chiusa oggi." in plain(m) for m in post.inbox(URP_COPY))
    assert show()["status"] == "closed"
