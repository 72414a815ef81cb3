"""The conciliation evidence file (issue 33, item 7): `workorders export --format evidence`
writes one ZIP with the summary PDF, every original as received, every message sent, every
attachment, the event log and the digests of all of them, checkable with `sha256sum -c`."""

from __future__ import annotations

import hashlib
import io
import json
import mailbox
import os
import pty
import re
import shutil
import subprocess
import sys
import zipfile
from email.message import EmailMessage

import pytest
from pypdf import PdfReader
from sqlmodel import Session, select

from mailbot.cases import evidence
from mailbot.models import Event, InboundMessage, OutboundMessage, StoredAttachment

from support import clock
from support.app import REPO, make_services, rows, run_cli, write_config

OPERATOR = "mario.rossi@comune.example.it"
NUMBER = "2026/000001"
INVOICE = b"%PDF-1.4 fattura di marzo\n"
PASSWD = b"root:x:0:0:root:/root:/bin/bash\n"
HOSTILE = "..\\..\\fattura\x1b[31m\u202e\r\n.pdf"


def _complaint() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Mario Bianchi <mario.bianchi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Bolletta sbagliata"
    msg["Message-ID"] = "<bolletta-1@example.net>"
    msg["Date"] = "Mon, 09 Mar 2026 10:00:00 +0100"
    msg.set_content("Buongiorno, la bolletta di marzo conta due volte lo stesso consumo.\n")
    msg.add_attachment(INVOICE, maintype="application", subtype="pdf", filename="fattura.pdf")
    msg.add_attachment(PASSWD, maintype="text", subtype="plain", filename="../../etc/passwd")
    return msg.as_bytes().replace(b"\n", b"\r\n")


@pytest.fixture
def office(tmp_path):
    """A case from a complaint with two attachments, answered with an attachment, noted, and
    the attachments' recorded names made hostile (mail-parser already keeps only the last part
    of "../../etc/passwd": the archive must not rely on it)."""
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    raw = _complaint()
    (tmp_path / "maildir" / "new" / "1773046800.1.test").write_bytes(raw)  # byte for byte
    assert len(box) == 1
    config = write_config(tmp_path / "mailbot.toml", transport="directory")
    assert mb(config, "run", "--once").returncode == 0
    reply = tmp_path / "risposta.txt"
    reply.write_text("Gentile signore,\nla bolletta è stata corretta.\n", encoding="utf-8")
    verbale = tmp_path / "verbale.pdf"
    verbale.write_bytes(b"%PDF-1.4 verbale")
    answered = mb(config, "workorders", "reply", NUMBER, "--operator", OPERATOR,
                  "--file", str(reply), "--attach", str(verbale), "--answer")  # fmt: skip
    assert answered.returncode == 0, answered.stderr
    assert mb(config, "workorders", "note", NUMBER, "--operator", OPERATOR, "Nota.").returncode == 0
    services = make_services(config)
    with Session(services.engine) as session:
        for stored, hostile in (("fattura.pdf", HOSTILE), ("passwd", "../../etc/passwd")):
            [row] = session.exec(
                select(StoredAttachment).where(StoredAttachment.filename == stored)
            )
            row.filename = hostile
            session.add(row)
        session.commit()
    yield config, services, raw
    services.engine.dispose()


def mb(config, *args):
    return run_cli("--config", str(config), *args)


def _export(config, tmp_path) -> bytes:
    out = tmp_path / "conciliazione.zip"
    done = mb(config, "workorders", "export", NUMBER, "--format", "evidence",
              "--out", str(out), "--by", "conciliatore.test")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


SAFE = re.compile(r"^(?:(?:originali|inviati|allegati)/[\w .()+,-]+|[\w.-]+)$")


def test_every_file_is_in_the_manifest_with_its_digest(office, tmp_path):
    config, _services, _raw = office
    data = _export(config, tmp_path)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(names) == {*listed, "manifest.json", "SHA256SUMS"}
    assert names == [*sorted(listed), "manifest.json", "SHA256SUMS"]  # same order each time
    for name, entry in listed.items():
        content = archive.read(name)
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], name
        assert len(content) == entry["size"]
    assert manifest["missing"] == []
    sums = {}
    for line in archive.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert set(sums) == {*listed, "manifest.json"}
    for name, digest in sums.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    if shutil.which("sha256sum"):  # what the conciliator runs
        target = tmp_path / "unpacked"
        archive.extractall(target)
        checked = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=target,
                                 capture_output=True, text=True)  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count(": OK") == len(sums)
    assert manifest["case"]["number"] == NUMBER and manifest["exported_by"] == "conciliatore.test"
    assert manifest["case"]["answered_at"] and manifest["case"]["confirmed_at"]


def test_originals_attachments_and_sent_mail_are_byte_identical(office, tmp_path):
    config, services, raw = office
    archive = zipfile.ZipFile(io.BytesIO(_export(config, tmp_path)))
    names = archive.namelist()
    [citizen] = [n for n in names if n.startswith("originali/") and "citizen" in n]
    assert archive.read(citizen) == raw
    [inbound] = [i for i in rows(services, InboundMessage) if i.message_id]
    assert hashlib.sha256(archive.read(citizen)).hexdigest() == inbound.raw_sha256
    outbox = rows(services, OutboundMessage)
    sent = [n for n in names if n.startswith("inviati/")]
    assert [archive.read(n) for n in sent] == [o.raw for o in outbox]
    assert any("confirmation" in n for n in sent) and any("relay" in n for n in sent)
    attachments = {n: archive.read(n) for n in names if n.startswith("allegati/")}
    assert sorted(attachments.values()) == sorted([INVOICE, PASSWD, b"%PDF-1.4 verbale"])
    summary = archive.read("riepilogo.pdf")
    assert summary.startswith(b"%PDF")
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(summary)).pages
    )
    assert "Pratica n. 2026/000001" in text and "Risposta motivata" in text
    assert "bolletta di marzo" in text and "conciliatore.test" in text
    assert hashlib.sha256(raw).hexdigest() in text
    events = json.loads(archive.read("eventi.json"))
    assert next(e["kind"] for e in events) == "work_order.opened"
    assert all({"at", "kind", "actor", "data"} <= set(e) for e in events)


def test_hostile_attachment_names_are_neutralised(office, tmp_path):
    config, _services, _raw = office
    archive = zipfile.ZipFile(io.BytesIO(_export(config, tmp_path)))
    for name in archive.namelist():
        assert SAFE.match(name), repr(name)
        assert ".." not in name.split("/") and not name.startswith("/")
        assert not any(ord(c) < 32 or c in "\\\u202e\x7f" for c in name), repr(name)
    attached = [n for n in archive.namelist() if n.startswith("allegati/")]
    passwd = next(n for n in attached if archive.read(n) == PASSWD)
    invoice = next(n for n in attached if archive.read(n) == INVOICE)
    assert passwd.endswith("-etc_passwd") and invoice.endswith("-fattura_31m_.pdf")
    by_name = {f["name"]: f for f in json.loads(archive.read("manifest.json"))["files"]}
    assert by_name[passwd]["filename"] == "../../etc/passwd"  # the original name, as data
    assert by_name[invoice]["filename"] == HOSTILE
    target = tmp_path / "unpacked"
    archive.extractall(target)
    inside = {p.resolve() for p in target.rglob("*") if p.is_file()}
    assert all(p.is_relative_to(target.resolve()) for p in inside) and len(inside) == len(
        archive.namelist()
    )


def test_the_export_is_recorded_with_the_archive_digest(office, tmp_path):
    config, services, _raw = office
    data = _export(config, tmp_path)
    [recorded] = [e for e in rows(services, Event) if e.kind == "work_order.exported"]
    details = json.loads(recorded.data)
    assert recorded.actor == "conciliatore.test"
    assert details["format"] == "evidence" and details["via"] == "cli"
    assert details["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_blob_missing_from_the_store_is_listed_not_fatal(office, tmp_path):
    _config, services, _raw = office
    [passwd] = [a for a in rows(services, StoredAttachment) if a.filename == "../../etc/passwd"]
    services.store.path(passwd.sha256).unlink()
    archive = zipfile.ZipFile(io.BytesIO(evidence.export(services, NUMBER, "tester")))
    [missing] = json.loads(archive.read("manifest.json"))["missing"]
    assert missing["name"].startswith("allegati/") and missing["name"].endswith("etc_passwd")
    assert missing["name"] not in archive.namelist()
    assert PASSWD not in [archive.read(n) for n in archive.namelist()]


def test_mistakes_are_refused_clearly(office, tmp_path):
    config, services, _raw = office
    out = tmp_path / "nessuna.zip"
    unknown = mb(config, "workorders", "export", "2099/000009", "--format", "evidence",
                 "--out", str(out))  # fmt: skip
    assert unknown.returncode == 1 and "no work order 2099/000009" in unknown.stderr
    assert "Traceback" not in unknown.stderr and not out.exists()
    mailed = mb(config, "workorders", "export", NUMBER, "--format", "evidence",
                "--send-to", "archivio@comune.example.it")  # fmt: skip
    assert mailed.returncode == 2 and "the evidence file is not mailed" in mailed.stderr
    assert "Traceback" not in mailed.stderr
    assert not [e for e in rows(services, Event) if e.kind == "work_order.exported"]


def test_the_archive_is_never_written_to_the_terminal(office):
    config, services, _raw = office
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mailbot", "--config", str(config), "workorders", "export",
             NUMBER, "--format", "evidence"],
            stdout=follower, stderr=subprocess.PIPE, cwd=REPO, timeout=120,
            env={**os.environ, **clock.subprocess_env()},
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert b"--out conciliazione-2026-000001.zip" in done.stderr
    assert not [e for e in rows(services, Event) if e.kind == "work_order.exported"]


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("..", "file"),
        ("", "file"),
        ("C:\\Windows\\system.ini", "C_Windows_system.ini"),
        ("perché è così.pdf", "perché è così.pdf"),
        ("fattura\u202efdp.exe", "fattura_fdp.exe"),
        ("a\x00b\r\nc.txt", "a_b_c.txt"),
        ("x" * 200 + ".pdf", "x" * 76 + ".pdf"),
    ],
)
def test_safe_names(given, safe):
    assert evidence.safe_name(given) == safe
