"""A case forwarded to a third party (cases/forwarding.py): the mail (from the mailbox, the
text, the case number, the attachments chosen and new ones, Reply-To the mailbox, a signed
Message-ID of a staff kind), logged in the conversation and the events; the third party's
answer threads back to the case as an internal note for the office, never to the citizen, and
the third party gets no notice about the office's mail; the same function from the CLI."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default

import pytest
from sqlmodel import Session, col, select

from mailbot.cases import forwarding
from mailbot.errors import InputError
from mailbot.models import ConversationMessage, Event, OutboundMessage, StoredAttachment
from mailbot.replies import threading
from mailbot.types import Attachment

from support.app import make_process, rows, run_cli, sent
from support.case_office import (
    AMBIENTE_OPERATOR,
    OPERATOR,
    SUPERVISOR,
    case,
    make_office_services,
    number,
    populate,
)  # fmt: skip

CONTRACTOR = "manutenzioni@ditta.example.org"


@pytest.fixture
def office(tmp_path):
    services = make_office_services(tmp_path, transport="directory")
    populate(services)
    yield services
    services.engine.dispose()


def case_attachment(services, n: int) -> int:
    wo = case(services, n)
    with Session(services.engine) as session:
        return session.exec(
            select(StoredAttachment.id)
            .join(ConversationMessage, col(ConversationMessage.id) == StoredAttachment.message_id)
            .where(ConversationMessage.work_order_id == wo.id)
        ).one()


def test_the_forward_mail(office) -> None:
    chosen = case_attachment(office, 1)
    done = forwarding.forward(
        office, number(1), OPERATOR, CONTRACTOR, "Buca in via Roma 1: intervenite?",
        attachments=[Attachment("mappa.png", "image/png", b"\x89PNG mappa")], chosen=[chosen],
    )  # fmt: skip
    assert "queued, 2 attachment(s)" in done
    row = sent(office, "forward_external")[-1]
    message = email.message_from_bytes(row.raw, policy=default)
    assert message["To"].addresses[0].addr_spec == CONTRACTOR
    assert message["From"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
    assert message["Reply-To"].addresses[0].addr_spec == "suggerimenti@comune.example.it"
    assert "[Pratica 2026/000001]" in message["Subject"]
    assert message["Auto-Submitted"] == "no"
    signed = threading.read_signed(office.secret, message["Message-ID"])
    assert signed == (number(1), "e") and "e" in threading.STAFF_KINDS
    text = message.get_body(("plain",)).get_content()
    assert "Buca in via Roma 1: intervenite?" in text and "2026/000001" in text
    assert "non sarà inviata al cittadino" in text
    assert [p.get_filename() for p in message.iter_attachments()] == ["foto1.pdf", "mappa.png"]
    logged = [m for m in rows(office, ConversationMessage) if m.kind == "forward_external"]
    assert logged[-1].author == OPERATOR and logged[-1].body_text.startswith("Buca")
    event = [e for e in rows(office, Event) if e.kind == "work_order.forwarded"][-1]
    assert CONTRACTOR in event.data and event.actor == OPERATOR


def test_the_answer_threads_back_as_an_internal_note(office) -> None:
    forwarding.forward(office, number(1), OPERATOR, CONTRACTOR, "Intervenite?")
    forward = sent(office, "forward_external")[-1]
    before = len(rows(office, OutboundMessage))
    answer = EmailMessage()
    answer["From"] = f"Ditta Manutenzioni <{CONTRACTOR}>"
    answer["To"] = "suggerimenti@comune.example.it"
    answer["Subject"] = "Re: Inoltro della pratica"
    answer["Message-ID"] = "<risposta-ditta@ditta.example.org>"
    answer["In-Reply-To"] = forward.message_id
    answer.set_content("Interveniamo giovedì.\n\n> Intervenite?\n")
    make_process(office)(answer.as_bytes())
    messages = [
        m for m in rows(office, ConversationMessage) if m.work_order_id == case(office, 1).id
    ]
    note = [m for m in messages if m.kind == "note"][-1]
    assert (note.direction, note.from_address) == ("in", CONTRACTOR)
    assert messages[-1].kind == "internal_note"  # passed on to the office
    assert "Interveniamo giovedì." in note.body_text
    new = rows(office, OutboundMessage)[before:]
    assert [o.kind for o in new] == ["internal_note"]  # to the office; no notice, no relay
    assert "tributi@comune.example.it" in new[0].recipients
    assert case(office, 1).reasoned_reply_at is None


def test_refused_forwards(office) -> None:
    with pytest.raises(InputError, match="not an email address"):
        forwarding.forward(office, number(1), OPERATOR, "ditta", "testo")
    with pytest.raises(InputError, match="needs a text"):
        forwarding.forward(office, number(1), OPERATOR, CONTRACTOR, "  ")
    with pytest.raises(InputError, match="may not forward"):  # another office's operator
        forwarding.forward(office, number(1), AMBIENTE_OPERATOR, CONTRACTOR, "testo")
    with pytest.raises(InputError, match="may not forward"):  # the URP supervises, not answers
        forwarding.forward(office, number(1), SUPERVISOR, CONTRACTOR, "testo")
    with pytest.raises(InputError, match="not one of this case's"):
        forwarding.forward(office, number(1), OPERATOR, CONTRACTOR, "testo",
                           chosen=[case_attachment(office, 5)])  # fmt: skip
    assert sent(office, "forward_external") == []


def test_the_cli_door(office, tmp_path) -> None:
    text = tmp_path / "testo.txt"
    text.write_text("Vi inoltriamo la segnalazione.", encoding="utf-8")
    extra = tmp_path / "planimetria.pdf"
    extra.write_bytes(b"%PDF-1.4 planimetria")
    config = str(office.settings.source_path)
    done = run_cli("--config", config, "workorders", "forward", number(1), "--to", CONTRACTOR,
                   "--operator", OPERATOR, "--file", str(text), "--attach", str(extra))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "forward to manutenzioni@ditta.example.org queued" in done.stdout
    assert re.search(r"outbox: \d+ sent, 0 deferred, 0 failed", done.stdout)
    assert sent(office, "forward_external")[-1].status == "sent"
    row = sent(office, "forward_external")[-1]
    message = email.message_from_bytes(row.raw, policy=default)
    assert [p.get_filename() for p in message.iter_attachments()] == ["planimetria.pdf"]
