"""The AOO's electronic seal on `Segnatura.xml`: an enveloped XAdES baseline B signature
(ETSI EN 319 132-1), the `ds:Signature` AgID's schema ends with. The only module that imports
signxml and lxml (their adapter)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from signxml.algorithms import SignatureConstructionMethod
from signxml.xades.xades import XAdESDataObjectFormat, XAdESSigner

from mailbot.errors import ConfigError


def seal(document: bytes, key_path: Path, cert_path: Path) -> bytes:
    """`document` with the seal appended as its root's last child."""
    key = _read(key_path, "protocol.seal_key")
    cert = _read(cert_path, "protocol.seal_certificate")
    if b"-----BEGIN CERTIFICATE-----" not in cert:
        raise ConfigError(f"protocol.seal_certificate: {cert_path} is not a PEM certificate")
    signer = XAdESSigner(
        method=SignatureConstructionMethod.enveloped,
        data_object_format=XAdESDataObjectFormat(
            Description="Segnatura di protocollo", MimeType="text/xml"
        ),
    )
    try:
        signed = signer.sign(etree.fromstring(document), key=key, cert=cert.decode("ascii"))
    except (ValueError, TypeError) as exc:  # not a PEM key, or not the certificate's key
        raise ConfigError(f"protocol.seal_key: cannot seal with {key_path}: {exc}") from None
    data: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return data + b"\n"


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read {path}: {exc.strerror}") from None
