"""The back office's lists and the case page's actions (issue 30): each role lists what it
sees, late and suspended first; filters, search and pages; every action on the page is what the
mail command does (the reply relayed to the citizen threaded and counted as the charter says,
an interim not counted, a note never sent, assign, extend and suspend moving the deadline as by
mail); a bad input brings the form back with its text; every view is recorded."""

from __future__ import annotations

import email
import re
from email.policy import default
from io import BytesIO
from typing import Any

import pytest
from sqlmodel import Session

from mailbot.backoffice import case_lists
from mailbot.cases import views
from mailbot.models import ConversationMessage, Event, OutboundMessage

from support.app import rows, sent
from support.backoffice import csrf, office_client, sign_in
from support.case_office import (
    ADMIN,
    DESK,
    OPERATOR,
    OVERSEER,
    SUPERVISOR,
    case,
    make_office_services,
    number,
    populate,
    slug,
)  # fmt: skip


@pytest.fixture
def office(tmp_path):
    services = make_office_services(tmp_path)
    populate(services)
    yield services
    services.engine.dispose()


def client_for(services, address):
    client = office_client(services)
    sign_in(client, services, address)
    return client


def listed(page: str) -> list[str]:
    return re.findall(r'<a href="/pratiche/(\d{4}-\d{6})">', page)


def test_each_role_lists_the_open_cases_it_sees_late_and_suspended_first(office) -> None:
    mine = client_for(office, OPERATOR).get("/")
    assert mine.status_code == 200
    # Tributi's open cases (its desk's too): the late one and the suspended one first.
    assert listed(mine.text) == [slug(2), slug(3), slug(1), slug(7)]
    assert "SCADUTA da" in mine.text  # late in words, not only by colour
    assert listed(client_for(office, SUPERVISOR).get("/").text)[:2] == [slug(2), slug(3)]
    assert set(listed(client_for(office, SUPERVISOR).get("/").text)) == {
        slug(n) for n in (1, 2, 3, 5, 7, 8)
    }
    assert set(listed(client_for(office, OVERSEER).get("/").text)) == {slug(5), slug(8)}
    assert listed(client_for(office, DESK).get("/").text) == [slug(7)]
    assert len(listed(client_for(office, ADMIN).get("/").text)) == 6


def test_the_archive_lists_closed_cases_a_desk_sees_every_one(office) -> None:
    assert set(listed(client_for(office, DESK).get("/archivio").text)) == {
        slug(4),
        slug(6),
        slug(9),
    }
    assert listed(client_for(office, OPERATOR).get("/archivio").text) == [slug(4)]
    assert set(listed(client_for(office, OVERSEER).get("/archivio").text)) == {slug(6), slug(9)}


def test_filters_and_search(office) -> None:
    admin = client_for(office, ADMIN)
    assert set(listed(admin.get("/?ufficio=ambiente").text)) == {slug(5), slug(8)}
    assert listed(admin.get("/?stato=suspended").text) == [slug(3)]
    assert listed(admin.get("/?scadute=1").text) == [slug(2)]
    assert listed(admin.get("/?cerca=2026-000005").text) == [slug(5)]
    assert listed(admin.get("/?cerca=numero8").text) == [slug(8)]  # the citizen's name
    assert listed(admin.get("/?cerca=strada 7 è").text) == [slug(7)]  # a message's text
    assert listed(admin.get("/?cerca=%25").text) == []  # taken literally, no wildcard
    assert listed(admin.get("/?canale=posta").text) == []
    assert len(listed(admin.get("/?tipo=reclamo&stato=bogus&pagina=x").text)) == 6


def test_pages_of_fifty_sorted_in_sql(office, monkeypatch) -> None:
    monkeypatch.setattr(case_lists, "PER_PAGE", 4)
    admin = client_for(office, ADMIN)
    first = admin.get("/")
    assert len(listed(first.text)) == 4 and "Pagina 1 di 2" in first.text
    second = admin.get("/?pagina=2")
    assert len(listed(second.text)) == 2
    assert not set(listed(first.text)) & set(listed(second.text))
    assert 'href="/?pagina=2"' in first.text


def post(client, n: int, verb: str, data: dict[str, Any], files: list[tuple[str, bytes]] = ()):
    page = client.get(f"/pratiche/{slug(n)}")
    assert page.status_code == 200
    form: dict[str, Any] = {"csrf_token": csrf(page.text), **data}
    if files:
        form["allegati"] = [(BytesIO(payload), name) for name, payload in files]
    return client.post(f"/pratiche/{slug(n)}/{verb}", data=form,
                       content_type="multipart/form-data")  # fmt: skip


def conversation(services, n: int) -> list[ConversationMessage]:
    wo = case(services, n)
    return [m for m in rows(services, ConversationMessage) if m.work_order_id == wo.id]


def test_a_reply_is_relayed_threaded_and_is_the_reasoned_reply(office) -> None:
    operator = client_for(office, OPERATOR)
    done = post(operator, 1, "rispondi", {"testo": "Gentile cittadino, abbiamo riparato.",
                                           "modo": "motivata"}, [("verbale.pdf", b"%PDF-1.4 v")])  # fmt: skip
    assert done.status_code == 303
    assert done.headers["Location"] == f"/pratiche/{slug(1)}?fatto=reply#esito"
    relay = sent(office, "relay")[-1]
    message = email.message_from_bytes(relay.raw, policy=default)
    assert message["To"].addresses[0].addr_spec == "cittadino1@example.net"
    assert message["In-Reply-To"] == "<reclamo-1@example.net>"
    assert "<reclamo-1@example.net>" in message["References"]
    assert [p.get_filename() for p in message.iter_attachments()] == ["verbale.pdf"]
    assert "abbiamo riparato" in message.get_body(("plain",)).get_content()
    assert case(office, 1).reasoned_reply_at is not None
    confirmed = operator.get(done.headers["Location"])
    assert "Risposta messa in coda" in confirmed.text and 'role="status"' in confirmed.text


def test_an_interim_reply_is_sent_but_does_not_count(office) -> None:
    done = post(client_for(office, OPERATOR), 1, "rispondi",
                {"testo": "Stiamo verificando.", "modo": "interlocutoria"})  # fmt: skip
    assert done.status_code == 303
    assert (
        "Stiamo verificando"
        in email.message_from_bytes(sent(office, "relay")[-1].raw, policy=default)
        .get_body(("plain",))
        .get_content()
    )
    assert case(office, 1).reasoned_reply_at is None


def test_reply_and_close(office) -> None:
    done = post(client_for(office, OPERATOR), 1, "rispondi",
                {"testo": "Risolto.", "modo": "motivata", "chiudi": "1"})  # fmt: skip
    assert done.status_code == 303
    assert case(office, 1).status == "closed" and case(office, 1).reasoned_reply_at is not None


def test_a_note_never_reaches_the_citizen(office) -> None:
    before = len(rows(office, OutboundMessage))
    done = post(client_for(office, SUPERVISOR), 1, "nota", {"testo": "Sentire il geometra."})
    assert done.status_code == 303
    citizen_bound = [o for o in rows(office, OutboundMessage)[before:]
                     if "cittadino1@example.net" in o.recipients]  # fmt: skip
    assert citizen_bound == []
    assert conversation(office, 1)[-1].kind == "note"
    assert conversation(office, 1)[-1].body_text == "Sentire il geometra."


def test_served_alone_the_back_office_sends_what_an_action_queued_at_once(office) -> None:
    """`mailbot backoffice` without a daemon: the delivery pass it was given runs after an
    action (off the request's thread); a refused action sends nothing."""
    import threading

    from mailbot.backoffice.app import create_app
    from mailbot.backoffice.context import send_at_once

    delivered = threading.Event()
    app = create_app(lambda: office)
    send_at_once(app, delivered.set)
    client = app.test_client()
    sign_in(client, office, OPERATOR)
    assert post(client, 1, "proroga", {"giorni": "0", "motivo": "x"}).status_code == 400
    assert not delivered.wait(0.2)
    assert post(client, 1, "rispondi", {"testo": "Risolto.", "modo": "motivata"}).status_code == 303
    assert delivered.wait(10)


def test_assign_moves_the_office_and_the_operator_loses_it(office) -> None:
    supervisor = client_for(office, SUPERVISOR)
    done = post(supervisor, 1, "assegna", {"ufficio": "ambiente", "motivo": "rifiuti"})
    assert done.status_code == 303
    assert case(office, 1).office == "ambiente"
    assert client_for(office, OPERATOR).get(f"/pratiche/{slug(1)}").status_code == 404


def test_extend_and_suspend_move_the_deadline_as_the_mail_command_does(office) -> None:
    from mailbot.cases.operator import operator_action

    done = post(client_for(office, OPERATOR), 1, "proroga", {"giorni": "15", "motivo": "verifiche"})
    assert done.status_code == 303
    operator_action(office, number(7), OPERATOR, "#proroga 15 verifiche\n#nota")
    web, mail = case(office, 1), case(office, 7)
    assert web.extension_days == mail.extension_days == 15
    assert web.due_at == mail.due_at
    asked = post(client_for(office, OPERATOR), 1, "sospendi", {"motivo": "Quale numero civico?"})
    assert asked.status_code == 303
    assert case(office, 1).status == "suspended"
    question = email.message_from_bytes(sent(office, "relay")[-1].raw, policy=default)
    assert "Quale numero civico?" in question.get_body(("plain",)).get_content()
    assert case(office, 1).reasoned_reply_at is None
    # The answer came by phone: the office resumes the clock itself (#riprendi, as by mail).
    page = client_for(office, OPERATOR).get(f"/pratiche/{slug(1)}").text
    assert f'action="/pratiche/{slug(1)}/riprendi"' in page
    suspended_due = case(office, 1).due_at
    assert post(client_for(office, OPERATOR), 1, "riprendi", {}).status_code == 303
    resumed = case(office, 1)
    assert resumed.status == "open" and resumed.suspended_at is None
    assert resumed.due_at >= suspended_due
    again = post(client_for(office, OPERATOR), 1, "riprendi", {})
    assert again.status_code == 400 and "non è sospesa" in again.text


def test_classify_and_outcome_are_the_mail_commands(office) -> None:
    operator = client_for(office, OPERATOR)
    assert post(operator, 1, "classifica", {"tipo": "segnalazione", "protocollo": "P-77"}
                ).status_code == 303  # fmt: skip
    assert (case(office, 1).kind, case(office, 1).protocollo) == ("segnalazione", "P-77")
    done = post(operator, 1, "esito", {"esito": "fondato", "soluzione": "rifacimento",
                                       "entro": "2026-04-30", "azione": "controlli mensili"})  # fmt: skip
    assert done.status_code == 303
    wo = case(office, 1)
    assert (wo.outcome, wo.solution, str(wo.solution_due)) == (
        "fondato",
        "rifacimento",
        "2026-04-30",
    )


def test_a_bad_input_brings_the_form_back_with_its_text(office) -> None:
    operator = client_for(office, OPERATOR)
    bad = post(operator, 1, "proroga", {"giorni": "0", "motivo": "il mio motivo"})
    assert bad.status_code == 400
    assert 'value="il mio motivo"' in bad.text
    assert 'aria-describedby="extend-days-error"' in bad.text and 'role="alert"' in bad.text
    refused = post(operator, 1, "assegna", {"ufficio": "tributi", "motivo": "già suo"})
    assert refused.status_code == 403  # an operator may not assign: the role table
    same = post(client_for(office, ADMIN), 1, "assegna", {"ufficio": "tributi", "motivo": "x"})
    assert same.status_code == 400  # the command's own check, in the page's language
    assert "la pratica è già dell&#39;ufficio" in same.text and 'value="x"' in same.text
    empty = post(operator, 1, "rispondi", {"testo": "  ", "modo": "motivata"})
    assert empty.status_code == 400 and 'id="reply-text-error"' in empty.text
    closing = post(operator, 4, "chiudi", {})  # already closed: operator_action refuses
    assert closing.status_code == 400 and "already closed" in closing.text
    assert case(office, 4).status == "closed"


def test_every_view_is_recorded_and_workorders_show_lists_it(office) -> None:
    operator = client_for(office, OPERATOR)
    page = operator.get(f"/pratiche/{slug(1)}")
    attachment = re.search(r'href="(/pratiche/2026-000001/allegati/\d+)"', page.text)
    assert attachment is not None
    download = operator.get(attachment.group(1))
    assert download.status_code == 200 and download.data.startswith(b"%PDF-1.4 foto 1")
    assert "attachment" in download.headers["Content-Disposition"]
    with Session(office.engine) as session:
        shown = views.show_work_order(session, number(1), office.settings.timezone)
    web = [v for v in shown["views"] if v["via"] == "web"]
    assert [v["by"] for v in web] == [OPERATOR, OPERATOR]
    assert OPERATOR in operator.get(f"/pratiche/{slug(1)}").text.split("Consultazioni")[-1]


def test_the_transcript_goes_to_the_member_only(office) -> None:
    done = post(client_for(office, SUPERVISOR), 1, "fascicolo", {"a": "altri@example.net"})
    assert done.status_code == 303
    transcript = sent(office, "transcript")[-1]
    assert transcript.recipients == SUPERVISOR


def test_unknown_case_and_unknown_attachment_are_404(office) -> None:
    admin = client_for(office, ADMIN)
    assert admin.get("/pratiche/2026-999999").status_code == 404
    assert admin.get("/pratiche/2026-1").status_code == 404
    assert admin.get(f"/pratiche/{slug(1)}/allegati/99999").status_code == 404
    events = [e for e in rows(office, Event) if e.kind == views.VIEWED]
    assert events == []


def test_the_pages_in_english(office) -> None:
    admin = client_for(office, ADMIN)
    admin.get("/lingua/en")
    assert "My open cases" in admin.get("/").text
    assert "Archive of closed cases" in admin.get("/archivio").text
    page = admin.get(f"/pratiche/{slug(4)}")
    assert page.status_code == 200 and "Reopen the case" in page.text and "None" not in page.text
