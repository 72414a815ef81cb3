"""Registry import and sync (issue 6): CSV quirks (BOM, `;`, Latin-1, quoted newlines, bad
check characters), JSON Lines, column mapping, upsert, prune, dry run, the two-process path
for large files, and the `registry import|show` commands."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session
from stdnum.it import codicefiscale

from mailbot.errors import InputError
from mailbot.matching import registry, registry_import, registry_validate
from mailbot.models import Contact, Taxpayer, TaxpayerAddress, WorkOrder

from support.app import make_process, make_services, rows, run_cli, write_config

CSV = (
    "codice_fiscale,name,email,pec\n"
    "RSSMRA80A41H501Y,Rossi Maria,Maria.Rossi@Example.it,\n"
    "IT07654320014,Edilizia Moderna Srl,,amministrazione@pec.example-impresa.it\n"
    "NOTACODICE,Nome Errato,errato@example.it,\n"
    "BNCMRA75C12F205Q,,,\n"
    "BNCMRA75C12F205R,Bianchi Mario,,\n"
    "BNCMRA75C12F205Q,Bianchi Mario,not-an-address,\n"
    "rssmra80a41h501y,Rossi Maria (again),,\n"
)


def load(services, tmp_path, text, *, name="registry.csv", encoding="utf-8", **options):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return registry_import.import_file(services.engine, path, services.settings.registry, **options)


def addresses(services):
    return {(a.address, a.kind) for a in rows(services, TaxpayerAddress)}


def test_report_counts_and_every_rejection_with_its_line(services, tmp_path):
    report = load(services, tmp_path, CSV)
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    assert report.rejected == [
        (4, "invalid codice fiscale or partita IVA 'NOTACODICE' (check characters)"),
        (5, "empty name"),
        (6, "invalid codice fiscale or partita IVA 'BNCMRA75C12F205R' (check characters)"),
        (7, "email: 'not-an-address' is not an email address"),
        (8, "RSSMRA80A41H501Y already on line 2"),
    ]
    assert addresses(services) == {
        ("maria.rossi@example.it", "email"),
        ("amministrazione@pec.example-impresa.it", "pec"),
    }
    assert {t.codice_fiscale for t in rows(services, Taxpayer)} == {
        "RSSMRA80A41H501Y",
        "07654320014",  # the partita IVA without its IT prefix
    }


def test_reimport_upserts_by_code_and_replaces_addresses(services, tmp_path):
    load(services, tmp_path, CSV)
    changed = CSV.replace(
        "Rossi Maria,Maria.Rossi@Example.it,",
        "Rossi Maria Luisa,new@example.it,maria.rossi@example.it",
    )
    report = load(services, tmp_path, changed)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    [maria] = [t for t in rows(services, Taxpayer) if t.codice_fiscale == "RSSMRA80A41H501Y"]
    assert maria.name == "Rossi Maria Luisa"
    assert ("maria.rossi@example.it", "pec") in addresses(services)  # now her PEC box
    assert ("maria.rossi@example.it", "email") not in addresses(services)
    assert ("new@example.it", "email") in addresses(services)
    with Session(services.engine) as session:  # her name's words follow the new name
        assert registry.similar_names(session, "Maria Luisa Rossi", 90)
    assert load(services, tmp_path, changed).unchanged == 2


def test_italian_export_bom_semicolons_windows_1252_and_quoted_newlines(services, tmp_path):
    text = (
        "Codice_Fiscale;Name;Email;PEC\r\n"
        'RSSMRA80A41H501Y;"Rossi Maria Niccolò";"maria.rossi@example.it; mr@example.it";\r\n'
        'BNCMRA75C12F205Q;"Bianchi\r\nMario";;\r\n'
        "VRDLCU82P41L219X;Verdi Lucia;;\r\n"  # wrong check character: line 5, not 4
    )
    report = load(services, tmp_path, text, encoding="cp1252")
    assert report.added == 2
    assert report.rejected == [
        (5, "invalid codice fiscale or partita IVA 'VRDLCU82P41L219X' (check characters)")
    ]
    names = {t.name for t in rows(services, Taxpayer)}
    assert names == {"Rossi Maria Niccolò", "Bianchi Mario"}
    assert ("mr@example.it", "email") in addresses(services)
    # UTF-8 with a BOM reads the same
    again = load(services, tmp_path, "\ufeff" + text, name="utf8.csv")
    assert again.unchanged == 2


def test_latin1_bytes_that_windows_1252_cannot_decode(services, tmp_path):
    raw = "codice_fiscale;name\nRSSMRA80A41H501Y;Rossi Maria\x81\n".encode("latin-1")
    assert load(services, tmp_path, raw).added == 1


def test_a_row_with_more_fields_than_the_header_is_rejected(services, tmp_path):
    text = "codice_fiscale,name\nRSSMRA80A41H501Y,Rossi,Maria\n"
    assert load(services, tmp_path, text).rejected == [(2, "3 fields, the header has 2")]


def test_columns_are_mapped_from_the_config_and_json_lines_are_read(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        extra=(
            "[registry.columns]\n"
            'codice_fiscale = ["cf", "piva"]\n'
            'name = ["cognome", "nome"]\n'
            'email = ["mail1", "mail2"]\n'
            'pec = "pec"\n'
            'postal_address = ["via", "comune"]\n'
        ),
    )
    services = make_services(config)
    lines = [
        {
            "CF": "RSSMRA80A41H501Y",
            "cognome": "Rossi",
            "nome": "Maria",
            "mail1": "a@example.it",
            "mail2": ["b@example.it", "c@example.it"],
            "via": "Via Po 1",
            "comune": "Torino",
        },
        {"piva": "07654320014", "cognome": "Edilizia Moderna Srl", "pec": "e@pec.example.it"},
        "not an object",
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n"
    report = load(services, tmp_path, text, name="anagrafe.jsonl")
    assert report.added == 2
    assert [line for line, _ in report.rejected] == [3, 4]
    with Session(services.engine) as session:
        [maria] = registry.search(session, "RSSMRA80A41H501Y")
    assert maria["name"] == "Rossi Maria"
    assert maria["email"] == ["a@example.it", "b@example.it", "c@example.it"]
    assert maria["postal_address"] == "Via Po 1, Torino"


def test_missing_columns_name_the_mapping(services, tmp_path):
    with pytest.raises(InputError, match=r"no column codice_fiscale .* \[registry.columns\]"):
        load(services, tmp_path, "cf,nome\nX,Y\n")


def test_prune_retires_taxpayers_a_full_export_no_longer_has(services, tmp_path):
    load(services, tmp_path, CSV)
    process = make_process(services)
    process("citizen_registered.eml")  # from maria.rossi@example.it
    only_company = "codice_fiscale,name,email,pec\nIT07654320014,Edilizia Moderna Srl,,\n"
    dry = load(services, tmp_path, only_company, prune=True, dry_run=True)
    assert dry.pruned == 1
    assert ("maria.rossi@example.it", "email") in addresses(services)  # nothing changed
    report = load(services, tmp_path, only_company, prune=True)
    assert report.pruned == 1 and report.unchanged == 0 and report.updated == 1
    [maria] = [t for t in rows(services, Taxpayer) if t.codice_fiscale == "RSSMRA80A41H501Y"]
    assert maria.removed_at is not None
    assert ("maria.rossi@example.it", "email") not in addresses(services)
    assert rows(services, Contact)[0].taxpayer_id is None  # she no longer matches...
    assert rows(services, WorkOrder)[0].taxpayer_id == maria.id  # ...her case keeps its link
    with Session(services.engine) as session:
        assert registry.by_code(session, "RSSMRA80A41H501Y") is None
    back = load(services, tmp_path, CSV)  # in the next export again: restored
    assert back.updated >= 1
    assert ("maria.rossi@example.it", "email") in addresses(services)


def test_dry_run_reports_and_changes_nothing(services, tmp_path):
    report = load(services, tmp_path, CSV, dry_run=True)
    assert report.added == 2
    assert rows(services, Taxpayer) == []


def test_a_large_file_is_read_in_a_second_process_with_the_same_result(services, tmp_path):
    big = ["codice_fiscale;name;email"]
    for n in range(300):
        head = f"RSSMRA{n % 100:02d}A{n // 100 + 1:02d}H501"
        big.append(f"{head}{codicefiscale.calc_check_digit(head)};Rossi {n};r{n}@example.it")
    big.append("XXXXXXXXXXXXXXXX;Bad;")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(big) + "\n")
    small = registry_import.import_file(services.engine, path, services.settings.registry)
    limit = registry_validate.PARALLEL_FROM_BYTES
    try:
        registry_validate.PARALLEL_FROM_BYTES = 1
        again = registry_import.import_file(
            services.engine, path, services.settings.registry, dry_run=True, prune=True
        )
    finally:
        registry_validate.PARALLEL_FROM_BYTES = limit
    assert (small.added, len(small.rejected)) == (300, 1)
    assert (again.unchanged, again.rejected, again.pruned) == (300, small.rejected, 0)


def test_cli_import_and_show(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = str(write_config(tmp_path / "mailbot.toml", transport="directory"))
    assert run_cli("--config", config, "db", "upgrade").returncode == 0
    path = tmp_path / "anagrafe.csv"
    path.write_text(CSV)
    dry = run_cli("--config", config, "registry", "import", str(path), "--dry-run")
    assert dry.returncode == 1, dry.stderr  # rows would be rejected
    assert dry.stdout.startswith("dry run, nothing changed: added 2, updated 0")
    done = run_cli("--config", config, "registry", "import", str(path), "--prune")
    assert "added 2, updated 0, unchanged 0, pruned 0, rejected 5" in done.stdout
    assert "  line 4: invalid codice fiscale or partita IVA 'NOTACODICE'" in done.stdout
    by_code = run_cli("--config", config, "registry", "show", "rssmra80a41h501y")
    assert "RSSMRA80A41H501Y  Rossi Maria" in by_code.stdout
    assert "email maria.rossi@example.it" in by_code.stdout
    by_address = run_cli(
        "--config", config, "registry", "show", "--json", "AMMINISTRAZIONE@pec.example-impresa.it"
    )
    assert [t["codice_fiscale"] for t in json.loads(by_address.stdout)] == ["07654320014"]
    by_name = run_cli("--config", config, "registry", "show", "maria rossi")
    assert "RSSMRA80A41H501Y" in by_name.stdout
    nobody = run_cli("--config", config, "registry", "show", "Nessuno Qui")
    assert nobody.returncode == 1 and "no taxpayer matches" in nobody.stderr
    missing = run_cli("--config", config, "registry", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode != 0 and "nope.csv: cannot read" in missing.stderr
    assert "Traceback" not in missing.stderr + nobody.stderr


def test_cli_import_exits_1_when_a_row_is_rejected_and_still_imports_the_good_ones(tmp_path):
    (tmp_path / "maildir").mkdir()
    config = str(write_config(tmp_path / "mailbot.toml", transport="directory"))
    assert run_cli("--config", config, "db", "upgrade").returncode == 0
    path = tmp_path / "anagrafe.csv"
    path.write_text(CSV)
    done = run_cli("--config", config, "registry", "import", str(path))
    assert done.returncode == 1
    assert "added 2, updated 0, unchanged 0, rejected 5" in done.stdout
    assert "  line 5: empty name" in done.stdout
    assert "  line 8: RSSMRA80A41H501Y already on line 2" in done.stdout
    assert "5 row(s) rejected" in done.stderr and "Traceback" not in done.stderr
    services = make_services(tmp_path / "mailbot.toml")
    assert len(rows(services, Taxpayer)) == 2  # the good rows are in
    clean = tmp_path / "clean.csv"
    clean.write_text("codice_fiscale,name,email,pec\nRSSMRA80A41H501Y,Rossi Maria,,\n")
    again = run_cli("--config", config, "registry", "import", str(clean))
    assert again.returncode == 0, again.stderr
    assert "rejected 0" in again.stdout
