"""`Segnatura.xml` (AgID guidelines on electronic documents, 2021, annex 6: root
`SegnaturaInformatica`, version 3.0.0) for a case's incoming document: the registration
(administration, AOO, register, number, date), subject, classification, the citizen as
sender, the administration as recipient, the original message as the main document and its
attachments, each with the base64 of its SHA-256.

The schema ends with a mandatory `ds:Signature`, the AOO's XAdES seal: applied by `seal.py`
when `[protocol] seal_key` and `seal_certificate` are set; otherwise the file is written
without it, to be sealed by whoever holds the AOO's certificate, and `UNSIGNED` says so. Built
with the standard library's ElementTree; signxml and lxml only for the seal.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from sqlalchemy.engine import Engine

from mailbot.config import ProtocolSettings, Settings
from mailbot.db import record_event, unit_of_work
from mailbot.errors import ConfigError
from mailbot.protocol.documents import CaseDocuments, Document, Sender, gather
from mailbot.storage import Store

NS = "http://www.agid.gov.it/protocollo/"
VERSION = "3.0.0"
SEALED = "sealed with the AOO's certificate (XAdES baseline B)"
UNSIGNED = (
    "not sealed: the schema's ds:Signature (the AOO's XAdES seal) is left to the protocol "
    "system or whoever holds the AOO's certificate"
)


def export(settings: Settings, engine: Engine, store: Store, number: str, actor: str) -> bytes:
    """The XML of case `number`'s incoming document; the export is recorded on the case."""
    protocol = settings.protocol
    missing = protocol.missing()
    if missing:
        raise ConfigError(
            f"{', '.join(missing)}: not set; Segnatura.xml needs the administration's "
            "identity and classification (config [protocol], see config.example.toml)"
        )
    with unit_of_work(engine) as session:
        facts = gather(session, store, number, settings.timezone)
        data = render(facts, protocol)
        if protocol.seal_key is not None and protocol.seal_certificate is not None:
            from mailbot.protocol.seal import seal

            data = seal(data, protocol.seal_key, protocol.seal_certificate)
        record_event(
            session,
            "work_order.segnatura_exported",
            work_order_id=facts.work_order_id,
            actor=actor,
            protocollo=facts.protocol_number,
            documents=1 + len(facts.attachments),
            sealed=protocol.sealed,
        )
    return data


def render(facts: CaseDocuments, protocol: ProtocolSettings) -> bytes:
    root = ET.Element(_q("SegnaturaInformatica"), {_q("versione"): VERSION, _q("lang"): "it"})
    header = _sub(root, "Intestazione")
    ident = _sub(header, "Identificatore")
    _sub(ident, "CodiceAmministrazione", protocol.codice_ipa, descrizione=protocol.denominazione)
    _sub(ident, "CodiceAOO", protocol.codice_aoo)
    _sub(ident, "CodiceRegistro", protocol.codice_registro)
    _sub(ident, "NumeroRegistrazione", facts.protocol_number)
    _sub(ident, "DataRegistrazione", facts.registered_on.isoformat())
    if facts.registered_time is not None:  # optional in the schema: never one made up
        _sub(ident, "OraRegistrazione", facts.registered_time.isoformat(timespec="seconds"))
    subject = facts.subject.strip() or f"Segnalazione {facts.case_number}"
    _sub(header, "Oggetto", subject)
    classifica = _sub(header, "Classifica")
    _sub(classifica, "Denominazione", protocol.classifica_denominazione or protocol.classifica)
    _sub(classifica, "CodiceFlat", protocol.classifica)
    body = _sub(root, "Descrizione")
    _sender(_sub(body, "Mittente"), facts.sender)
    administration = _sub(_sub(body, "Destinatario"), "Amministrazione")
    _sub(administration, "DenominazioneAmministrazione", protocol.denominazione)
    _sub(
        administration,
        "CodiceIPAAmministrazione",
        protocol.codice_ipa,
        descrizione=protocol.denominazione,
    )
    _sub(administration, "CodiceIPAAOO", protocol.codice_aoo)
    _document(_sub(body, "DocumentoPrimario"), facts.main)
    for attachment in facts.attachments:
        _document(_sub(body, "Allegato"), attachment)
    ET.register_namespace("prot", NS)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data + b"\n"


def _sender(parent: ET.Element, sender: Sender) -> None:
    person = _sub(parent, "PersonaFisica")
    _sub(person, "Nome", sender.first_name)
    _sub(person, "Cognome", sender.last_name)
    if sender.codice_fiscale:
        _sub(person, "CodiceFiscale", sender.codice_fiscale)
    if sender.email or sender.phone:
        contacts = _sub(person, "Contatti")
        if sender.email:
            note = {"note": "PEC"} if sender.pec else {}
            _sub(contacts, "IndirizzoTelematico", sender.email, tipo="smtp", **note)
        if sender.phone:
            _sub(contacts, "Telefono", sender.phone)


def _document(element: ET.Element, document: Document) -> None:
    element.set(_q("nomeFile"), document.filename)
    element.set(_q("mimeType"), document.mime_type)
    if document.description:
        _sub(element, "Descrizione", document.description)
    digest = base64.b64encode(document.sha256).decode("ascii")
    _sub(element, "Impronta", digest, algoritmo="SHA-256")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {_q(k): v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


def _q(name: str) -> str:
    """The schema qualifies elements and attributes alike (attributeFormDefault)."""
    return f"{{{NS}}}{name}"
