"""Every case URL of the back office (the page, an attachment, every action's POST) visited
as every role, on cases of several offices, desks and states: 200/303 where the role table
allows it, 403 where the case is seen but the action not allowed, 404 where the case is not
seen (the same answer as for no such case), the sign-in page for a visitor. The expectation
comes from the tables below, written from the role descriptions (roles.py's words), not from
cases/access.py: the test would catch access.py drifting from them.

The action doors (operator_action, forwarding.forward, transcript.send) are replaced by a
recorder here, so that an allowed POST changes nothing the next visit depends on;
test_backoffice_cases.py shows what each door does."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from mailbot.backoffice import case_actions
from mailbot.models import ConversationMessage, StoredAttachment, WorkOrder

from support.backoffice import office_client, sign_in
from support.case_office import STAFF, make_office_services, number, populate, slug

# Which of populate's cases (1-9) each role sees: 1-4 Tributi (2 late, 3 suspended, 4 closed),
# 5-6 Ambiente (6 closed), 7 Tributi by desk Nord, 8-9 Ambiente by desk Sud (9 closed).
SEES = {
    "operator": {1, 2, 3, 4, 7},  # his office's, whoever opened them
    "responsible": {1, 2, 3, 4, 7},
    "supervisor": set(range(1, 10)),  # every case
    "overseer": {5, 6, 8, 9},  # within its reach (Ambiente), the archive too
    "desk": {7, 4, 6, 9},  # its own, and every closed case (the archive all desks consult)
    "admin": set(range(1, 10)),
    "visitor": set(),
}
OFFICE = {"reply", "close", "reopen", "suspend", "resume", "extend", "outcome", "forward", "note",
          "classify", "transcript"}  # fmt: skip
MAY = {  # what each role may do on a case it sees by that role
    "operator": OFFICE,
    "responsible": OFFICE | {"assign"},
    "supervisor": {"note", "assign", "classify", "transcript"},
    "overseer": {"note", "assign", "classify", "transcript"},
    "desk": {"note", "transcript"},  # on its own cases; on the archive's, only the file
    "admin": OFFICE | {"assign"},
    "visitor": set(),
}
OWN_DESK_CASES = {7}
SUSPENDED_CASE = 3
VERBS = {
    "rispondi": ("reply", {"testo": "Risposta.", "modo": "motivata"}),
    "nota": ("note", {"testo": "Nota."}),
    "inoltra": ("forward", {"indirizzo": "ditta@example.org", "testo": "Verificate."}),
    "assegna": ("assign", {"ufficio": "urp", "motivo": "competenza"}),
    "sospendi": ("suspend", {"motivo": "Quale via?"}),
    "riprendi": ("resume", {}),
    "proroga": ("extend", {"giorni": "10", "motivo": "sopralluogo"}),
    "classifica": ("classify", {"tipo": "segnalazione"}),
    "esito": ("outcome", {"esito": "fondato"}),
    "chiudi": ("close", {}),
    "riapri": ("reopen", {}),
    "fascicolo": ("transcript", {}),
}


def may(role: str, n: int, action: str) -> bool:
    if role == "desk" and n not in OWN_DESK_CASES:
        return action == "transcript"
    return action in MAY[role]


@pytest.fixture
def office(tmp_path, monkeypatch):
    services = make_office_services(tmp_path)
    populate(services)
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(case_actions, "operator_action",
                        lambda svc, number, actor, text, files: calls.append((number, actor, text)))  # fmt: skip
    monkeypatch.setattr(case_actions.forwarding, "forward",
                        lambda svc, number, actor, to, text, **kw: calls.append((number, actor, to)))  # fmt: skip
    monkeypatch.setattr(case_actions.transcript, "send",
                        lambda svc, number, address, actor: calls.append((number, address)))  # fmt: skip
    yield services, calls
    services.engine.dispose()


def attachments(services) -> dict[int, int]:
    """Case n → the id of its citizen's attachment."""
    with Session(services.engine) as session:
        found = session.exec(
            select(WorkOrder.number, StoredAttachment.id)
            .join(ConversationMessage, col(ConversationMessage.work_order_id) == WorkOrder.id)
            .join(StoredAttachment, col(StoredAttachment.message_id) == ConversationMessage.id)
        ).all()
    return {int(num[-6:]): att for num, att in found}


@pytest.mark.parametrize("role", sorted(SEES))
def test_every_case_url_and_action_as_every_role(office, role: str) -> None:
    services, calls = office
    client = office_client(services)
    client.application.config["WTF_CSRF_ENABLED"] = False  # CSRF: test_backoffice_cases
    address = STAFF.get(role, "")
    if address:
        sign_in(client, services, address)
    files = attachments(services)
    expected_calls = 0
    for n in range(1, 10):
        page = client.get(f"/pratiche/{slug(n)}")
        download = client.get(f"/pratiche/{slug(n)}/allegati/{files[n]}")
        if role == "visitor":
            assert page.status_code == download.status_code == 303
            assert page.headers["Location"] == f"/accesso?next=/pratiche/{slug(n)}"
        else:
            seen = 200 if n in SEES[role] else 404
            assert (page.status_code, download.status_code) == (seen, seen), (role, n)
        for verb, (action, data) in VERBS.items():
            answer = client.post(f"/pratiche/{slug(n)}/{verb}", data=data)
            if role == "visitor":
                want = 403
            elif n not in SEES[role]:
                want = 404
            else:
                want = 303 if may(role, n, action) else 403
                if want == 303 and action == "resume" and n != SUSPENDED_CASE:
                    want = 400  # allowed, but only a suspended case has a clock to resume
            assert answer.status_code == want, (role, n, verb, answer.status_code)
            if want == 303:
                expected_calls += 1
                assert calls[-1][:2] == (number(n), address)
                offered = f'action="/pratiche/{slug(n)}/{verb}"'
                # The page offers the action's form where the case's state allows it.
                assert offered in page.text or action in ("close", "reopen", "suspend", "resume",
                                                          "assign", "extend", "reply")  # fmt: skip
            elif want == 403:
                assert f'action="/pratiche/{slug(n)}/{verb}"' not in page.text
    assert len(calls) == expected_calls


def test_an_unknown_verb_or_number_is_404_and_a_post_needs_its_token(office) -> None:
    services, calls = office
    client = office_client(services)
    sign_in(client, services, STAFF["admin"])
    assert client.post(f"/pratiche/{slug(1)}/cancella", data={}).status_code == 400  # no token
    client.application.config["WTF_CSRF_ENABLED"] = False
    assert client.post(f"/pratiche/{slug(1)}/cancella", data={}).status_code == 404
    assert client.post("/pratiche/2026-999999/nota", data={"testo": "x"}).status_code == 404
    assert client.get("/pratiche/2026-00001").status_code == 404
    assert calls == []
