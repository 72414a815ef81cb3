"""Copies and handovers (issue 29): every letter the charter names (the reply, the extension,
the closing letter) is copied to the office's URP and to the supervisors who oversee that
office, never to another office's, and a printed letter copies nothing; `#assegna UFFICIO
[motivo]` hands the case over with its attachments, a covering note and the case's own
deadline; the letters name the member who signs for the office."""

from __future__ import annotations

import email
import io
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default

import pytest
from pypdf import PdfReader

from mailbot.cases import letters
from mailbot.cases.operator import operator_action
from mailbot.entry import Submission, file_submission
from mailbot.errors import InputError
from mailbot.models import Event, OutboundMessage
from mailbot.replies import commands
from mailbot.types import LedgerStatus
from unit.test_conversations import CITIZEN, OPERATOR, case, outbound, reply

from support.app import make_process, make_services, rows, run_cli, sent, write_config

MAILBOX = "suggerimenti@comune.example.it"
URP_COPY = "protocollo.urp@comune.example.it"  # the office's copy_to
SUPERVISOR = "carla.bianchi@comune.example.it"  # oversees the URP's office
OTHER_SUPERVISOR = "paolo.verdi@comune.example.it"  # oversees Tributi only
TRIBUTI_OPERATOR = "anna.neri@comune.example.it"

STAFF = f"""copy_to = "{URP_COPY}"

[[offices]]
id = "tributi"
name = "Ufficio Tributi"
email = "tributi@comune.example.it"
operators = ["{TRIBUTI_OPERATOR}"]
response_days = 60

[[staff]]
email = "{OPERATOR}"
name = "Mario Rossi"
roles = ["operator"]
offices = ["urp"]

[[staff]]
email = "{SUPERVISOR}"
name = "Carla Bianchi"
roles = ["supervisor"]
offices = ["urp"]

[[staff]]
email = "{OTHER_SUPERVISOR}"
name = "Paolo Verdi"
roles = ["supervisor"]
offices = ["tributi"]

[[staff]]
email = "giulia.ferri@comune.example.it"
name = "dott.ssa Giulia Ferri"
roles = ["responsible"]
offices = ["urp"]
"""


def _services(tmp_path, extra: str = ""):
    """The test config's URP office (copy_to, a supervisor, a named Dirigente) and Tributi
    (60 days, its own supervisor); `extra`: top-level tables."""
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", extra=extra)
    path.write_text(path.read_text() + STAFF)
    return make_services(path)


@pytest.fixture
def services(tmp_path):
    svc = _services(tmp_path)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def process(services):
    return make_process(services)


def message(row: OutboundMessage) -> EmailMessage:
    return email.message_from_bytes(row.raw, policy=default)  # type: ignore[return-value]


def text_of(row: OutboundMessage, part: str = "plain") -> str:
    return str(message(row).get_body((part,)).get_content()).replace("\r\n", "\n")


def events(services, kind: str) -> list[dict]:
    return [json.loads(e.data) for e in rows(services, Event) if e.kind == kind]


def complaint_with(files: list[tuple[str, bytes]], n: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Mario Bianchi <{CITIZEN}>"
    msg["To"] = MAILBOX
    msg["Subject"] = "Bolletta TARI sbagliata"
    msg["Message-ID"] = f"<tari-{n}@example.net>"
    msg.set_content("La bolletta TARI conta due volte il garage: allego le ricevute.")
    for name, payload in files:
        msg.add_attachment(payload, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


# --- copies ---------------------------------------------------------------------------------


def test_the_reply_the_extension_and_the_closing_letter_are_copied_to_the_urp_and_supervisor(
    services, process
):
    assert process("citizen_plain.eml").status == LedgerStatus.FILED
    operator_action(services, "2026/000001", OPERATOR, "#proroga 15 servono verifiche\n#nota")
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nLa buca è stata chiusa.")
    [extension], [relay], [closing] = (sent(services, k) for k in ("extension", "relay", "closing"))
    for row in (extension, relay, closing):
        # One message, the copies visible; the other office's supervisor gets nothing.
        assert row.recipients == f"{CITIZEN}, {URP_COPY}, {SUPERVISOR}", row.kind
        msg = message(row)
        assert msg["To"].addresses[0].addr_spec == CITIZEN
        assert [a.addr_spec for a in msg["Cc"].addresses] == [URP_COPY, SUPERVISOR]
        # Whoever answers a copy writes to the mailbox, never to a reply path of the citizen's.
        assert [a.addr_spec for a in msg["Reply-To"].addresses] == [MAILBOX], row.kind
        assert OTHER_SUPERVISOR.encode() not in row.raw
    # Nothing else went to the supervisors: the confirmation and notification are not copies.
    for row in rows(services, OutboundMessage):
        if row.kind not in ("extension", "relay", "closing"):
            assert SUPERVISOR not in row.recipients and URP_COPY not in row.recipients, row.kind


def test_a_supervisor_of_every_office_gets_the_copies_of_every_office(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(
        path.read_text()
        + '\n[[staff]]\nemail = "centro@comune.example.it"\nroles = ["supervisor"]\n'
        + '\n[[staff]]\nemail = "sportello@comune.example.it"\nroles = ["desk"]\n'
        + 'desks = ["centro"]\n\n[[desks]]\nid = "centro"\nname = "Sportello"\n'
        + 'email = "sportello@comune.example.it"\n'
    )
    services = make_services(path)
    make_process(services)("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nFatto.")
    [closing] = sent(services, "closing")
    # No offices named: it oversees them all; a desk is not a supervisor and gets no copy.
    assert closing.recipients == f"{CITIZEN}, centro@comune.example.it"


def test_a_printed_letter_case_sends_no_copy_by_mail(services):
    outcome = file_submission(
        services,
        Submission(
            channel="telefono",
            subject="Lampione spento",
            text="Il lampione di via Dante è spento.",
            name="Giulia Verdi",
            postal_address="Via Roma 1, 00100 Roma",
            received_at=datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        ),
        actor=OPERATOR,
    )
    number = outcome.work_order_number
    assert number is not None
    operator_action(services, number, OPERATOR, "#proroga 10 servono verifiche\n#nota")
    operator_action(services, number, OPERATOR, "#chiudi\nIl lampione è stato riparato.")
    for row in rows(services, OutboundMessage):
        assert URP_COPY not in row.recipients and SUPERVISOR not in row.recipients, row.kind
    held = {e["message_kind"] for e in events(services, "message.suppressed")}
    assert {"extension", "closing"} <= held  # nothing by mail to a citizen with no address
    # The printed letter signs for the office with the Dirigente's name.
    letter = letters.latest(services, number)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(letter)).pages)
    assert "Giulia Ferri" in text


def test_letters_name_the_member_who_signs_for_the_office(services, process):
    process("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#proroga 15 servono verifiche\n#nota")
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nFatto.")
    for kind in ("confirmation", "extension", "relay", "closing"):
        [row] = sent(services, kind)
        assert "Responsabile: dott.ssa Giulia Ferri" in text_of(row), kind
        assert "Responsabile: dott.ssa Giulia Ferri" in text_of(row, "html"), kind


def test_the_office_s_own_responsible_text_comes_before_the_directory(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    text = path.read_text() + STAFF
    path.write_text(text.replace(f'copy_to = "{URP_COPY}"', 'responsible = "ing. Luca Bruni"'))
    services = make_services(path)
    make_process(services)("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nFatto.")
    closing = text_of(sent(services, "closing")[0])
    assert "Responsabile: ing. Luca Bruni" in closing and "Giulia Ferri" not in closing
    # No copy_to here, but the office's supervisor still gets the copy.
    assert sent(services, "closing")[0].recipients == f"{CITIZEN}, {SUPERVISOR}"


# --- #assegna ---------------------------------------------------------------------------------


def test_assegna_with_a_reason_hands_over_the_attachments_a_covering_note_and_the_deadline(
    services, process
):
    receipts = [("ricevuta-2024.pdf", b"%PDF-1.4 ricevuta 2024"), ("ricevuta-2025.pdf", b"%PDF 25")]
    process(complaint_with(receipts))
    first = outbound(services, "notification")
    confirmation = outbound(services, "confirmation")
    follow_up = complaint_with([("planimetria.pdf", b"%PDF-1.4 planimetria")], n=2)
    follow_up = follow_up.replace(
        b"Message-ID: <tari-2@example.net>",
        f"Message-ID: <tari-2@example.net>\nIn-Reply-To: {confirmation.message_id}".encode(),
    )
    process(follow_up)
    operator_action(services, "2026/000001", OPERATOR, "#proroga 15 servono verifiche\n#nota")
    process(
        reply(
            first,
            OPERATOR,
            "#assegna tributi la TARI è di competenza dei Tributi\nHo già sentito il collega.",
        )
    )
    wo = case(services)
    assert wo.office == "tributi"
    [assigned] = events(services, "work_order.assigned")
    assert assigned["reason"] == "la TARI è di competenza dei Tributi"
    assert (assigned["office"], assigned["previous"]) == ("tributi", "urp")
    handed = outbound(services, "notification")
    assert handed.recipients == "tributi@comune.example.it"
    msg = message(handed)
    attached = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert attached == {
        "ricevuta-2024.pdf": b"%PDF-1.4 ricevuta 2024",
        "ricevuta-2025.pdf": b"%PDF 25",
        "planimetria.pdf": b"%PDF-1.4 planimetria",
    }
    assert "Pratica assegnata al vostro ufficio" in msg["Subject"]
    plain, html = text_of(handed), text_of(handed, "html")
    assert (
        "Ve l'ha assegnata Mario Rossi (Ufficio Relazioni con il Pubblico) in data "
        "11 marzo 2026, 10:00." in plain
    )
    assert "Motivo:    la TARI è di competenza dei Tributi" in plain
    assert "Nota:      Ho già sentito il collega." in plain
    assert "Ve l'ha assegnata <strong>Mario Rossi</strong>" in html
    # The case's own deadline (received 2 March, 30 days, extended by 15), not Tributi's 60 days.
    assert wo.due_at.astimezone(services.settings.timezone).date().isoformat() == "2026-04-16"
    assert (
        "Scadenza:  16 aprile 2026 (Carta dei servizi: 30 giorni, prorogati di 15): "
        "mancano 36 giorni" in plain
    )
    assert "60 giorni" not in plain and "60 giorni" not in html
    assert "mancano 36 giorni" in html
    assert not sent(services, "relay")  # the citizen is told nothing


def test_assegna_without_a_reason_still_hands_over(services, process):
    process("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#assegna tributi")
    assert case(services).office == "tributi"
    [assigned] = events(services, "work_order.assigned")
    assert "reason" not in assigned
    handed = outbound(services, "notification")
    assert handed.recipients == "tributi@comune.example.it"
    plain = text_of(handed)
    assert "Motivo:    non indicato" in plain and "Nota:" not in plain
    assert "Scadenza:  1 aprile 2026 (Carta dei servizi: 30 giorni): mancano 21 giorni" in plain
    assert list(message(handed).iter_attachments()) == []


def test_a_handover_by_an_address_the_directory_names_no_one_for_shows_the_address(tmp_path):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml")
    path.write_text(
        path.read_text()
        + '\n[[offices]]\nid = "tributi"\nname = "Ufficio Tributi"\n'
        + 'email = "tributi@comune.example.it"\noperators = ["anna.neri@comune.example.it"]\n'
    )
    services = make_services(path)
    make_process(services)("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#assegna tributi per competenza")
    plain = text_of(outbound(services, "notification"))
    assert f"Ve l'ha assegnata {OPERATOR} (Ufficio Relazioni con il Pubblico)" in plain


def test_attachments_too_large_for_one_message_are_listed_instead(tmp_path):
    services = _services(tmp_path, extra="[limits]\nmax_message_mb = 0.5\n")
    process = make_process(services)
    big = b"%PDF-1.4 " + bytes(300 * 1024)
    small = b"%PDF-1.4 piccola"
    process(complaint_with([("scansione.pdf", big), ("ricevuta.pdf", small)]))
    operator_action(services, "2026/000001", OPERATOR, "#assegna tributi troppo grande")
    handed = outbound(services, "notification")
    attached = [a.get_filename() for a in message(handed).iter_attachments()]
    assert attached == ["ricevuta.pdf"]  # what fits goes; what does not is named
    plain = text_of(handed)
    assert "Allegati non inclusi, troppo grandi per la posta" in plain
    assert "scansione.pdf (0,3 MB)" in plain and "0,5 MB\nper messaggio" in plain
    assert len(handed.raw) < 0.5 * 1024 * 1024


def test_a_suspended_case_handed_over_says_the_clock_is_stopped(services, process):
    process("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#sospendi manca il civico\nQuale civico?")
    operator_action(services, "2026/000001", OPERATOR, "#assegna tributi")
    plain = text_of(outbound(services, "notification"))
    assert "termini sospesi dal giorno 11 marzo 2026, in attesa del cittadino" in plain


def test_the_assegna_command_teaches_and_checks_its_optional_reason(services, process):
    spec = next(s for s in commands.COMMANDS if s.name == "assegna")
    assert spec.usage("it") == "#assegna UFFICIO [MOTIVO]"
    assert spec.usage("en") == "#assegna OFFICE [REASON]"
    assert commands.assignment("tributi  per competenza ") == ("tributi", "per competenza")
    assert commands.parse("#assegna").errors == (commands.Problem("needs", ("assegna", "UFFICIO")),)
    process("citizen_plain.eml")
    with pytest.raises(InputError, match="#assegna: no office 'nessuno'"):
        operator_action(services, "2026/000001", OPERATOR, "#assegna nessuno per prova")
    with pytest.raises(InputError, match="#assegna: the case is already office 'urp'"):
        operator_action(services, "2026/000001", OPERATOR, "#assegna urp")
    assert case(services).office == "urp"


def test_a_handover_in_english_says_the_same(tmp_path):
    services = _services(tmp_path, extra='language = "en"\n')
    make_process(services)("citizen_plain.eml")
    operator_action(services, "2026/000001", OPERATOR, "#assegna tributi per competenza")
    handed = outbound(services, "notification")
    plain = text_of(handed)
    assert "Case assigned to your office" in message(handed)["Subject"]
    assert (
        "Handed over by Mario Rossi (Ufficio Relazioni con il Pubblico) on 11 March 2026, 10:00."
        in plain
    )
    assert "Reason:    per competenza" in plain
    assert "Due:       April 1, 2026 (service charter: 30 days): 21 days left" in plain


def test_the_command_line_hands_over_with_a_reason(services, process):
    process("citizen_plain.eml")
    config = str(services.settings.source_path)
    done = run_cli(
        "--config", config, "workorders", "assign", "2026/000001", "tributi",
        "--operator", OPERATOR, "--reason", "di competenza\ndei Tributi",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [assigned] = events(services, "work_order.assigned")
    assert assigned["reason"] == "di competenza dei Tributi"
    assert "Motivo:    di competenza dei Tributi" in text_of(outbound(services, "notification"))
