"""The per-message reads that run on the Core connection (statements built once, no ORM
execution layer, no autoflush): they read what the transaction wrote before them, the case
counter keeps its guarantees, and statements built once per shape do not mix their bindings."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from mailbot.cases.numbering import next_number
from mailbot.db import unit_of_work
from mailbot.matching import registry, registry_import
from mailbot.models import Contact

REGISTRY = (
    "codice_fiscale;name;email;pec\n"
    "RSSMRA80A41H501Y;Rossi Maria Luisa;maria.rossi@example.it;\n"
    "BNCMRA75C12F205Q;Bianchi Mario;famiglia@example.it;\n"
    "VRDLCU82P41L219G;Verdi Lucia;famiglia@example.it;\n"
)


def test_the_contact_card_reads_the_contact_as_the_transaction_left_it(services):
    with unit_of_work(services.engine) as session:
        contact = Contact(email="anna@example.net", name="Anna")
        session.add(contact)
        session.flush()
        assert contact.id is not None
        contact_id = contact.id
    with unit_of_work(services.engine) as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.name, contact.phone = "Anna Bianchi", "+39 06 1234"  # not flushed
        card = registry.contact_card(session, contact_id, None)
        assert (card.name, card.email, card.phone) == (
            "Anna Bianchi",
            "anna@example.net",
            "+39 06 1234",
        )
        assert card.codice_fiscale is None and card.registry_name is None


def test_the_contact_card_names_its_taxpayer(services, tmp_path):
    path = tmp_path / "anagrafe.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    registry_import.import_file(services.engine, path, services.settings.registry)
    with unit_of_work(services.engine) as session:
        [taxpayer_id] = registry.taxpayers_with_address(session, "Maria.Rossi@Example.it")
        contact = Contact(email="maria.rossi@example.it", name="", taxpayer_id=taxpayer_id)
        session.add(contact)
        session.flush()
        assert contact.id is not None
        card = registry.contact_card(session, contact.id, taxpayer_id)
    assert (card.codice_fiscale, card.registry_name) == ("RSSMRA80A41H501Y", "Rossi Maria Luisa")


def test_case_numbers_follow_each_other_and_a_rolled_back_one_is_given_back(services):
    with unit_of_work(services.engine) as session:
        assert [next_number(session, 2026) for _ in range(2)] == ["2026/000001", "2026/000002"]
    with pytest.raises(RuntimeError), unit_of_work(services.engine) as session:
        assert next_number(session, 2026) == "2026/000003"
        raise RuntimeError("the case fails")
    with unit_of_work(services.engine) as session:
        assert next_number(session, 2026) == "2026/000003"
        assert next_number(session, 2027) == "2027/000001"  # a new year starts its own count


def test_names_of_two_and_three_words_find_their_taxpayers_in_any_order(services, tmp_path):
    path = tmp_path / "anagrafe.csv"
    path.write_text(REGISTRY, encoding="utf-8")
    registry_import.import_file(services.engine, path, services.settings.registry)
    with Session(services.engine) as session:
        ids = {
            name: [tid for tid, _ in registry.similar_names(session, name, 80)]
            for name in ("Mario Bianchi", "Luisa Maria Rossi", "Lucia Verdi", "Maria Rossi")
        }
        [rossi] = registry.taxpayers_with_address(session, "maria.rossi@example.it")
        bianchi, verdi = registry.taxpayers_with_address(session, "famiglia@example.it")
        assert registry.taxpayers_with_address(session, "nobody@example.it") == []
    assert ids["Luisa Maria Rossi"] == ids["Maria Rossi"] == [rossi]
    assert ids["Mario Bianchi"] == [bianchi] and ids["Lucia Verdi"] == [verdi]
