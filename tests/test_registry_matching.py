"""The taxpayer registry import and the first-cut sender matching."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from mailbot import workorders
from mailbot.errors import InputError
from mailbot.matching import matcher, registry
from mailbot.models import Contact, Taxpayer, TaxpayerAddress, WorkOrder
from mailbot.types import Address, MatchRule

from conftest import rows

CSV = (
    "codice_fiscale,name,email,pec\n"
    "RSSMRA80A41H501Y,Rossi Maria,Maria.Rossi@Example.it,\n"
    "07654320014,Edilizia Moderna Srl,,amministrazione@pec.example-impresa.it\n"
    "NOTACODICE,Nome Errato,errato@example.it,\n"
    "BNCMRA75C12F205Q,,,\n"
    "BNCMRA75C12F205Q,Bianchi Mario,not-an-address,\n"
)


def import_text(services, tmp_path, text, encoding="utf-8"):
    path = tmp_path / "registry.csv"
    path.write_bytes(text.encode(encoding))
    with Session(services.engine) as session, session.begin():
        return registry.import_csv(session, path)


def test_import_reports_added_and_each_rejection_with_its_line(services, tmp_path):
    report = import_text(services, tmp_path, CSV)
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    assert report.rejected == [
        (4, "invalid codice fiscale or partita IVA 'NOTACODICE'"),
        (5, "empty name"),
        (6, "email: 'not-an-address' is not an email address"),
    ]
    addresses = {(a.address, a.kind) for a in rows(services, TaxpayerAddress)}
    assert addresses == {
        ("maria.rossi@example.it", "email"),
        ("amministrazione@pec.example-impresa.it", "pec"),
    }


def test_reimport_upserts_by_codice_fiscale(services, tmp_path):
    import_text(services, tmp_path, CSV)
    changed = CSV.replace(
        "Rossi Maria,Maria.Rossi@Example.it",
        "Rossi Maria Luisa,maria.rossi@example.it new@example.it",
    )
    report = import_text(services, tmp_path, changed)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    [maria] = [t for t in rows(services, Taxpayer) if t.codice_fiscale == "RSSMRA80A41H501Y"]
    assert maria.name == "Rossi Maria Luisa"
    assert len(rows(services, Taxpayer)) == 2


def test_italian_export_with_semicolons_and_latin1_is_read(services, tmp_path):
    text = "codice_fiscale;name;email;pec\nRSSMRA80A41H501Y;Rossi Maria Niccolò;maria.rossi@example.it;\n"
    report = import_text(services, tmp_path, text, encoding="latin-1")
    assert report.added == 1
    assert rows(services, Taxpayer)[0].name == "Rossi Maria Niccolò"


def test_missing_columns_are_a_clear_error(services, tmp_path):
    with pytest.raises(InputError, match="missing column"):
        import_text(services, tmp_path, "cf,nome\nX,Y\n")


def test_registered_address_links_the_work_order_to_the_taxpayer(services, process, tmp_path):
    import_text(services, tmp_path, CSV)
    process("citizen_registered.eml")
    [wo] = rows(services, WorkOrder)
    assert wo.match_rule == MatchRule.REGISTRY_ADDRESS
    assert wo.match_confidence == 1.0
    with Session(services.engine) as session:
        [summary] = workorders.list_work_orders(session, services.settings.timezone)
    assert summary["contact"] == {
        "email": "maria.rossi@example.it",
        "name": "Rossi Maria",
        "generic": False,
        "codice_fiscale": "RSSMRA80A41H501Y",
    }


def test_unknown_address_gets_a_generic_contact_reused_next_time(services, process):
    process("citizen_plain.eml")
    process("citizen_auto_forwarded.eml")  # same sender, another mail
    contacts = rows(services, Contact)
    assert len(contacts) == 1
    assert {wo.match_rule for wo in rows(services, WorkOrder)} == {MatchRule.GENERIC_CONTACT}


def test_address_shared_by_two_taxpayers_is_ambiguous_and_not_guessed(services, tmp_path):
    shared = (
        "codice_fiscale,name,email,pec\n"
        "RSSMRA80A41H501Y,Rossi Maria,famiglia@example.it,\n"
        "BNCMRA75C12F205Q,Bianchi Mario,famiglia@example.it,\n"
    )
    import_text(services, tmp_path, shared)
    with Session(services.engine) as session, session.begin():
        match = matcher.match_sender(session, Address("Famiglia", "famiglia@example.it"))
        contact = session.get(Contact, match.contact_id)
        assert contact is not None and contact.taxpayer_id is None
        ids = sorted(t.id for t in session.exec(select(Taxpayer)))
    assert match.rule == MatchRule.GENERIC_CONTACT
    assert match.taxpayer_id is None
    assert sorted(match.candidates) == ids
