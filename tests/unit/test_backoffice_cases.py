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
from sqlmodel import Session, select

from mailbot.backoffice import case_lists
from mailbot.cases import views
from mailbot.models import ConversationMessage, Event, OutboundMessage, WorkOrder

from support.app import rows, sent
from support.backoffice import csrf, office_client, sign_in
from support.case_office import (
    ADMIN, DESK, OPERATOR, OVERSEER, SUPERVISOR, case, make_office_services, number,
    populate, slug,
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
        slug(4), slug(6), slug(9)
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
