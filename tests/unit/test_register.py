"""What the charter's register records beyond dates (issue 18): the kind of submission, the
outcome, the solution and its date, corrective actions and their check; a sender without a
name asked for it where the charter takes no anonymous reports; and what letters must say."""

from __future__ import annotations

import csv
import email
import io
import json
from datetime import date
from email.policy import default

import pytest
from sqlmodel import Session

from mailbot.cases import register, views, workorders
from mailbot.cases.operator import operator_action
from mailbot.models import CorrectiveAction, OutboundMessage, WorkOrder

from support.app import complaint, make_process, make_services, rows, run_cli, write_config

OPERATOR = "mario.rossi@comune.example.it"


def _services(tmp_path, mailbox_extra="", office_extra="", charter=""):
    (tmp_path / "maildir").mkdir(parents=True)
    config = write_config(
        tmp_path / "mailbot.toml", transport="directory", extra=f"[charter]\n{charter}"
    )
    text = config.read_text()
    text = text.replace('office = "urp"\n', f'office = "urp"\n{mailbox_extra}', 1)
    text = text.replace("response_days = 30\n", f"response_days = 30\n{office_extra}")
    config.write_text(text)
    return make_services(config)


@pytest.fixture
def services(tmp_path):
    svc = _services(tmp_path)
    yield svc
    svc.engine.dispose()


def _text(row: OutboundMessage) -> str:
    msg = email.message_from_bytes(row.raw, policy=default)
    return msg.get_body(("plain",)).get_content()


def _case(services) -> WorkOrder:
    with Session(services.engine) as session:
        return workorders.by_number(session, "2026/000001")


def test_kind_outcome_solution_and_action_are_recorded_shown_and_in_the_register(services):
    make_process(services)(complaint(1, "Contatore rotto"))
    assert _case(services).kind == "reclamo" and _case(services).channel == "email"
    operator_action(
        services,
        "2026/000001",
        OPERATOR,
        "#tipo segnalazione\n#esito fondato\n#soluzione entro 30/04/2026 sostituzione del contatore"
        "\n#azione controllo annuale dei contatori di via Verdi\n#risposta\n"
        "Sostituiremo il contatore entro aprile.",
    )
    case = _case(services)
    assert (case.kind, case.outcome) == ("segnalazione", "fondato")
    assert case.solution == "sostituzione del contatore" and case.solution_due == date(2026, 4, 30)
    assert case.reasoned_reply_at is not None
    with Session(services.engine) as session:
        shown = views.show_work_order(session, "2026/000001", services.settings.timezone)
    assert shown["charter"]["outcome"] == "fondato"
    assert shown["charter"]["solution_due"] == "2026-04-30"
    [action] = shown["actions"]
    assert action["text"] == "controllo annuale dei contatori di via Verdi"
    assert action["verified_at"] is None

    config = str(services.settings.source_path)
    listed = run_cli("--config", config, "actions", "list", "--open", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [a["number"] for a in json.loads(listed.stdout)] == ["2026/000001"]
    verified = run_cli(
        "--config", config, "actions", "verify", str(action["id"]), "--operator", OPERATOR,
        "--note", "controllati 40 contatori",
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    again = run_cli(
        "--config", config, "actions", "verify", str(action["id"]), "--operator", OPERATOR
    )
    assert again.returncode == 2 and "verified already" in again.stderr
    assert (
        json.loads(run_cli("--config", config, "actions", "list", "--open", "--json").stdout) == []
    )
    [row] = rows(services, CorrectiveAction)
    assert row.verified_by == OPERATOR and row.verification == "controllati 40 contatori"

    result = run_cli("--config", config, "report", "register", "--year", "2026")
    [line] = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    assert line["Tipo"] == "segnalazione" and line["Canale"] == "e-mail"  # Italian, not "email"
    assert line["Esito"] == "fondato" and line["Soluzione"] == "sostituzione del contatore"
    assert line["Soluzione entro"] == "30/04/2026" and line["Stato"] == "aperta"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("#tipo lamentela\nTesto", "non è un tipo"),
        ("#esito boh\nTesto", "non è un esito"),
        ("#soluzione entro 31/02/2026 qualcosa", "#soluzione richiede il testo"),
        ("#soluzione", "#soluzione richiede TESTO"),
    ],
)
def test_wrong_register_commands_are_refused_with_a_notice(services, text, error):
    process = make_process(services)
    process(complaint(1))
    notification = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    reply = (
        f"From: Mario Rossi <{OPERATOR}>\r\nTo: suggerimenti@comune.example.it\r\n"
        f"Subject: R: pratica\r\nMessage-ID: <op-1@comune.example.it>\r\n"
        f"In-Reply-To: {notification.message_id}\r\n\r\n{text}\r\n"
    ).encode()
    process(reply)
    [notice] = [o for o in rows(services, OutboundMessage) if o.kind == "notice"]
    assert error in _text(notice)
    case = _case(services)
    assert case.kind == "reclamo" and case.outcome is None and case.solution == ""


def test_solution_dates_in_both_forms_and_kind_aliases():
    assert register.solution_of("entro 2026-05-02 riasfaltatura") == (
        date(2026, 5, 2),
        "riasfaltatura",
    )
    assert register.solution_of("riasfaltatura del tratto") == (None, "riasfaltatura del tratto")
    assert register.solution_of("entro 30/02/2026 x") is None
    assert register.kind_of("Rimborso") == "richiesta_rimborso"
    assert register.kind_of("reclami") is None


def test_a_mailbox_sets_the_kind_of_its_cases(tmp_path):
    services = _services(tmp_path, mailbox_extra='kind = "suggerimento"\n')
    make_process(services)(complaint(1))
    assert _case(services).kind == "suggerimento"
    bad = write_config(tmp_path / "bad.toml")
    bad.write_text(
        bad.read_text().replace('office = "urp"\n', 'office = "urp"\nkind = "idea"\n', 1)
    )
    checked = run_cli("--config", str(bad), "check")
    assert checked.returncode == 2 and "mailboxes[0].kind: must be one of" in checked.stdout


def test_a_nameless_sender_is_asked_for_a_name_and_the_term_waits(tmp_path):
    services = _services(tmp_path, mailbox_extra='anonymous = "ask"\n')
    process = make_process(services)
    raw = (
        b"From: x12@example.net\r\nTo: suggerimenti@comune.example.it\r\nSubject: Rifiuti\r\n"
        b"Message-ID: <anon-1@example.net>\r\n\r\nCassonetti pieni in via Roma.\r\n"
    )
    process(raw)
    case = _case(services)
    assert case.status == "suspended"
    [confirmation] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    text = " ".join(_text(confirmation).split())
    assert "ci servono il suo nome e cognome" in text
    assert "riceverà una risposta motivata entro" not in text
    answer = (
        "From: x12@example.net\r\nTo: suggerimenti@comune.example.it\r\n"
        "Subject: R: Rifiuti\r\n"
        f"Message-ID: <anon-2@example.net>\r\nIn-Reply-To: {confirmation.message_id}\r\n\r\n"
        "Giulia Verdi\r\n"
    ).encode()
    process(answer)
    assert _case(services).status == "open"  # the term runs from the answer

    named = _services(tmp_path / "named", mailbox_extra='anonymous = "ask"\n')
    make_process(named)(complaint(1))  # "Cittadino 1 <...>": a name
    assert _case(named).status == "open"


def test_letters_name_the_responsible_the_phone_privacy_and_redress_and_copy_the_urp(tmp_path):
    services = _services(
        tmp_path,
        office_extra=(
            'responsible = "dott.ssa Anna Neri"\nphone = "0471 123456"\n'
            'copy_to = "urp-archivio@comune.example.it"\n'
        ),
        charter=(
            'privacy_notice = "https://comune.example.it/privacy"\n'
            'redress = "il Difensore civico regionale"\n'
        ),
    )
    make_process(services)(complaint(1))
    [confirmation] = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    text = _text(confirmation)
    assert "Responsabile: dott.ssa Anna Neri - Telefono: 0471 123456" in text
    assert (
        "Informativa sul trattamento dei dati personali: https://comune.example.it/privacy" in text
    )
    operator_action(services, "2026/000001", OPERATOR, "#chiudi\nRisolto.")
    relay = next(o for o in rows(services, OutboundMessage) if o.kind == "relay")
    assert relay.recipients == "cittadino1@example.net, urp-archivio@comune.example.it"
    msg = email.message_from_bytes(relay.raw, policy=default)
    assert msg["Cc"] == "urp-archivio@comune.example.it"
    assert "Responsabile: dott.ssa Anna Neri" in _text(relay)
    closing = next(o for o in rows(services, OutboundMessage) if o.kind == "closing")
    assert "può rivolgersi a: il Difensore civico regionale" in _text(closing)


def test_a_complaint_at_the_counter_is_numbered_kept_and_confirmed_like_a_mail(services, tmp_path):
    from mailbot.models import Contact, Event, InboundMessage

    make_process(services)(complaint(1))  # 2026/000001 came by mail
    scan = tmp_path / "lettera.pdf"
    scan.write_bytes(b"%PDF-1.4 lettera firmata " * 50)
    config = str(services.settings.source_path)
    opened = run_cli(
        "--config", config, "workorders", "open", "--channel", "sportello",
        "--operator", OPERATOR, "--subject", "Marciapiede dissestato",
        "--text", "Il marciapiede di via Dante è dissestato.", "--name", "Giulia Verdi",
        "--email", "giulia.verdi@example.net", "--phone", "333 1234567",
        "--received", "2026-03-03T10:30", "--attach", str(scan),
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    number = opened.stdout.split(":")[0]
    case = next(w for w in rows(services, WorkOrder) if w.number == number)
    contact = next(c for c in rows(services, Contact) if c.id == case.contact_id)
    entry = next(i for i in rows(services, InboundMessage) if i.work_order_id == case.id)
    assert case.channel == "sportello" and case.number.endswith("000002")  # one sequence
    assert case.received_at.astimezone(services.settings.timezone).hour == 10
    assert contact.name == "Giulia Verdi" and contact.phone == "333 1234567"
    original = email.message_from_bytes(services.store.get(entry.raw_sha256), policy=default)
    [letter] = list(original.iter_attachments())  # the scanned letter, kept with the original
    assert letter.get_filename() == "lettera.pdf"
    assert letter.get_content() == scan.read_bytes()
    sent = sorted((tmp_path / "sent").glob("*.eml"))
    assert any(b"giulia.verdi@example.net" in p.read_bytes() and b"Pratica" in p.read_bytes()
               for p in sent)  # fmt: skip
    assert "work_order.entered" in {e.kind for e in rows(services, Event)}

    phoned = run_cli(
        "--config", config, "workorders", "open", "--channel", "telefono",
        "--operator", OPERATOR, "--subject", "Lampione", "--text", "Verbale: lampione spento.",
        "--phone", "0471 000000",
    )  # fmt: skip
    assert phoned.returncode == 0, phoned.stderr
    third = rows(services, WorkOrder)[-1]
    assert third.channel == "telefono"
    confirmations = [o for o in rows(services, OutboundMessage) if o.kind == "confirmation"]
    assert len(confirmations) == 2  # none to the caller with no address
    suppressed = [e for e in rows(services, Event) if e.kind == "message.suppressed"]
    assert suppressed and "no email address" in suppressed[-1].data

    refused = run_cli(
        "--config", config, "workorders", "open", "--channel", "email", "--operator", OPERATOR,
        "--subject", "x", "--text", "y",
    )  # fmt: skip
    assert refused.returncode == 2
    unknown = run_cli(
        "--config", config, "workorders", "open", "--channel", "posta", "--operator", OPERATOR,
        "--subject", "x", "--text", "y", "--mailbox", "pec",
    )  # fmt: skip
    assert unknown.returncode == 2 and "no mailbox 'pec' (known: suggerimenti)" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_a_message_filed_again_keeps_the_channel_it_came_by():
    from datetime import UTC, datetime

    from mailbot.ingest import ledger
    from mailbot.models import InboundMessage

    def entry(ref):
        return InboundMessage(
            mailbox="suggerimenti", source_ref=ref, message_key="k", raw_sha256="0" * 64,
            raw_size=1, received_at=datetime(2026, 3, 3, tzinfo=UTC), status="quarantined",
        )  # fmt: skip

    assert ledger.origin_of(entry("channel:posta:ab12")).channel == "posta"
    assert ledger.origin_of(entry("1700000000.M1P2.host")).channel == "email"
    assert ledger.origin_of(entry(None)).channel == "email"
