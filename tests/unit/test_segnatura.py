"""`workorders segnatura` (issue 33, 6c): AgID's Segnatura.xml (annex 6, 3.0.0) of a case's
incoming document. The digests are checked against SHA-256 computed here from the stored bytes,
the identity keys are in it, and it validates against AgID's published XSD, read in place from
../shared/standards (skipped, saying so, where that directory is absent, as in CI)."""

from __future__ import annotations

import base64
import hashlib
import os
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import select

from mailbot import config as config_module
from mailbot import db
from mailbot.cases.operator import operator_action
from mailbot.errors import ConfigError, InputError
from mailbot.models import Event, InboundMessage, StoredAttachment, WorkOrder
from mailbot.protocol import segnatura

from support.app import REPO, make_process, make_services, run_cli, write_config

STANDARDS = Path(os.environ.get("MAILBOT_STANDARDS", REPO.parent / "shared" / "standards"))
XSD = STANDARDS / "agid-segnatura" / "segnatura_protocollo.xsd"
NS = {"p": segnatura.NS}
OPERATOR = "mario.rossi@comune.example.it"
PROTOCOL = """[protocol]
codice_ipa = "c_x123"
codice_aoo = "AOO_URP"
codice_registro = "REG_PROT"
denominazione = "Comune di Esempio"
classifica = "1.8"
classifica_denominazione = "Reclami e segnalazioni"
"""
PDF = b"%PDF-1.4\n% verbale del sopralluogo\n" + bytes(range(256)) * 40
JPEG = b"\xff\xd8\xff\xe0" + os.urandom(5000) + b"\xff\xd9"


def complaint_with_two_attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Giulia Bianchi <giulia.bianchi@example.org>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Buca in via Roma davanti al civico 12"
    msg["Message-ID"] = "<buca-via-roma@example.org>"
    msg["Date"] = "Mon, 02 Mar 2026 10:00:00 +0100"
    msg.set_content("Buongiorno,\nsegnalo una buca pericolosa. Allego verbale e foto.\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="verbale.pdf")
    msg.add_attachment(JPEG, maintype="image", subtype="jpeg", filename="foto buca.jpg")
    return msg.as_bytes()


@pytest.fixture
def config_path(tmp_path):
    (tmp_path / "maildir").mkdir()
    return write_config(tmp_path / "mailbot.toml", extra=PROTOCOL)


@pytest.fixture
def services(config_path):
    svc = make_services(config_path)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def case(services):
    make_process(services)(complaint_with_two_attachments())
    with db.read_only(services.engine) as session:
        [wo] = session.exec(select(WorkOrder)).all()
    return wo.number


def record_protocol(services, number, value="4711"):
    operator_action(services, number, OPERATOR, f"#protocollo {value}\n#nota")


def stored_digests(services):
    """SHA-256 of the original and of each attachment, from the store's files, here."""
    with db.read_only(services.engine) as session:
        [inbound] = session.exec(select(InboundMessage)).all()
        rows = session.exec(select(StoredAttachment).order_by(StoredAttachment.id)).all()
        names = [(r.filename, r.sha256) for r in rows]

    def sha(digest):
        return base64.b64encode(hashlib.sha256(services.store.path(digest).read_bytes()).digest())

    return sha(inbound.raw_sha256).decode(), [(n, sha(d).decode()) for n, d in names]


def export(services, number):
    return segnatura.export(services.settings, services.engine, services.store, number, "tester")


def test_the_digests_are_those_of_the_stored_original_and_attachments(services, case):
    record_protocol(services, case)
    root = ET.fromstring(export(services, case))
    main, attachments = stored_digests(services)
    assert [n for n, _ in attachments] == ["verbale.pdf", "foto buca.jpg"]
    primary = root.find("p:Descrizione/p:DocumentoPrimario", NS)
    assert primary is not None
    assert primary.findtext("p:Impronta", namespaces=NS) == main
    assert primary.get(f"{{{segnatura.NS}}}mimeType") == "message/rfc822"
    listed = [
        (a.get(f"{{{segnatura.NS}}}nomeFile"), a.findtext("p:Impronta", namespaces=NS))
        for a in root.findall("p:Descrizione/p:Allegato", NS)
    ]
    assert listed == attachments
    # and those are the attachments' own bytes, as the citizen sent them
    assert attachments[0][1] == base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    assert attachments[1][1] == base64.b64encode(hashlib.sha256(JPEG).digest()).decode()


def test_the_registration_and_identity_keys_are_in_it(services, case):
    record_protocol(services, case, "2026/4711")
    root = ET.fromstring(export(services, case))
    assert root.get(f"{{{segnatura.NS}}}versione") == "3.0.0"
    ident = root.find("p:Intestazione/p:Identificatore", NS)
    assert ident is not None
    assert [child.text for child in ident][:5] == [
        "c_x123", "AOO_URP", "REG_PROT", "0004711", "2026-03-11"
    ]  # fmt: skip
    assert root.findtext("p:Intestazione/p:Oggetto", namespaces=NS) == (
        "Buca in via Roma davanti al civico 12"
    )
    assert root.findtext("p:Intestazione/p:Classifica/p:CodiceFlat", namespaces=NS) == "1.8"
    person = root.find("p:Descrizione/p:Mittente/p:PersonaFisica", NS)
    assert person is not None
    assert person.findtext("p:Nome", namespaces=NS) == "Giulia"
    assert person.findtext("p:Cognome", namespaces=NS) == "Bianchi"
    assert person.findtext("p:Contatti/p:IndirizzoTelematico", namespaces=NS) == (
        "giulia.bianchi@example.org"
    )
    recipient = root.find("p:Descrizione/p:Destinatario/p:Amministrazione", NS)
    assert recipient is not None
    assert recipient.findtext("p:CodiceIPAAOO", namespaces=NS) == "AOO_URP"
    with db.read_only(services.engine) as session:
        kinds = [e.kind for e in session.exec(select(Event).order_by(Event.id))]
    assert kinds[-1] == "work_order.segnatura_exported"  # the export is on the audit trail


def test_it_validates_against_agids_schema(services, case):
    if not XSD.is_file():
        pytest.skip(f"AgID's XSD not found at {XSD} (../shared absent; set MAILBOT_STANDARDS)")
    import xmlschema

    record_protocol(services, case)
    data = export(services, case)
    schema = xmlschema.XMLSchema(str(XSD))
    # mailbot does not seal: the one thing the schema misses is the mandatory ds:Signature…
    errors = list(schema.iter_errors(data.decode()))
    assert len(errors) == 1 and "Signature" in str(errors[0]), errors
    # …and with a signature element in its place, all the rest is valid as written.
    root = ET.fromstring(data)
    root.append(ET.fromstring(PLACEHOLDER_SIGNATURE))
    schema.validate(ET.tostring(root, encoding="unicode"))


def test_without_a_protocol_number_the_cli_says_how_to_record_one(config_path, case):
    result = run_cli("--config", str(config_path), "workorders", "segnatura", case)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "has no protocol number" in result.stderr
    assert "workorders protocollo" in result.stderr and "#protocollo" in result.stderr


def test_the_cli_writes_the_file_and_says_it_is_not_sealed(config_path, services, case, tmp_path):
    record_protocol(services, case)
    out = tmp_path / "Segnatura.xml"
    result = run_cli(
        "--config", str(config_path), "workorders", "segnatura", case, "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "not sealed" in result.stderr
    assert ET.parse(out).getroot().tag == f"{{{segnatura.NS}}}SegnaturaInformatica"


def test_a_number_that_is_not_the_registers_is_refused(services, case):
    record_protocol(services, case, "P/1")
    with pytest.raises(InputError, match="not a number of the register"):
        export(services, case)


@pytest.mark.parametrize(
    ("recorded", "year", "number"),
    [
        ("4711", 2026, "0004711"),
        ("0004711/2026", 2026, "0004711"),
        ("2026/4711", 2026, "0004711"),
        ("2026/4711", 2027, "0004711"),  # recorded in January for last year's number
        ("4711-2026", 2026, "0004711"),
        ("Prot. n. 12345678", 2026, "12345678"),
    ],
)
def test_the_register_number_is_read_from_what_the_operator_typed(recorded, year, number):
    from mailbot.protocol.documents import _register_number

    assert _register_number(recorded, year) == number


def test_without_the_identity_the_export_names_the_keys(tmp_path):
    (tmp_path / "maildir").mkdir()
    svc = make_services(write_config(tmp_path / "mailbot.toml"))
    try:
        with pytest.raises(ConfigError, match=r"protocol\.codice_ipa, protocol\.codice_aoo"):
            export(svc, "2026/000001")
    finally:
        svc.engine.dispose()


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('codice_registro = "REG_PROT"', 'codice_registro = "registro generale"'),
        ('codice_ipa = "c_x123"', 'codice_ipa = "c x 123"'),
    ],
)
def test_a_bad_value_names_its_key(tmp_path, line, key):
    (tmp_path / "maildir").mkdir()
    path = write_config(tmp_path / "mailbot.toml", extra=PROTOCOL.replace(line, key))
    name = key.split(" ")[0]
    with pytest.raises(ConfigError, match=rf"^protocol\.{name}: "):
        config_module.load(path)


def make_seal(directory: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate standing for the AOO's: (key.pem, cert.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AOO_URP Comune di Esempio")])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1).not_valid_before(start)
        .not_valid_after(start + timedelta(days=20 * 365)).sign(key, hashes.SHA256())
    )  # fmt: skip
    key_path, cert_path = directory / "aoo.key", directory / "aoo.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_with_the_aoos_certificate_it_is_sealed_valid_and_verifiable(tmp_path):
    from signxml.exceptions import InvalidSignature
    from signxml.xades.xades import XAdESVerifier

    (tmp_path / "maildir").mkdir()
    key, cert = make_seal(tmp_path)
    seal_keys = f'seal_key = "{key}"\nseal_certificate = "{cert}"\n'
    config_path = write_config(tmp_path / "mailbot.toml", extra=PROTOCOL + seal_keys)
    svc = make_services(config_path)
    try:
        make_process(svc)(complaint_with_two_attachments())
        record_protocol(svc, "2026/000001")
        data = export(svc, "2026/000001")
        main, attachments = stored_digests(svc)
    finally:
        svc.engine.dispose()
    XAdESVerifier().verify(data, x509_cert=cert.read_text())  # raises unless intact
    root = ET.fromstring(data)
    assert root[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    assert root.findtext("p:Descrizione/p:DocumentoPrimario/p:Impronta", namespaces=NS) == main
    listed = [a.findtext("p:Impronta", namespaces=NS) for a in root.findall(".//p:Allegato", NS)]
    assert listed == [digest for _, digest in attachments]
    tampered = data.replace(b"0004711", b"0004712")
    with pytest.raises(InvalidSignature):  # the number changed after sealing
        XAdESVerifier().verify(tampered, x509_cert=cert.read_text())
    if XSD.is_file():
        import xmlschema

        assert list(xmlschema.XMLSchema(str(XSD)).iter_errors(data.decode())) == []


def test_a_key_that_is_not_one_names_its_key_on_export(services, case, tmp_path):
    record_protocol(services, case)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key\n")
    _, cert = make_seal(tmp_path)
    protocol = replace(services.settings.protocol, seal_key=garbage, seal_certificate=cert)
    settings = replace(services.settings, protocol=protocol)
    with pytest.raises(ConfigError, match=r"^protocol\.seal_key: cannot seal with"):
        segnatura.export(settings, services.engine, services.store, case, "tester")


def test_a_seal_key_without_its_certificate_is_refused(tmp_path):
    (tmp_path / "maildir").mkdir()
    key, _ = make_seal(tmp_path)
    path = write_config(tmp_path / "mailbot.toml", extra=PROTOCOL + f'seal_key = "{key}"\n')
    with pytest.raises(ConfigError, match=r"^protocol\.seal_key: set together with"):
        config_module.load(path)


# Schema-valid, not a real seal: it stands where the AOO's XAdES signature goes.
PLACEHOLDER_SIGNATURE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue>AAAA</ds:SignatureValue>
</ds:Signature>"""
