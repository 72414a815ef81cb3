"""Blocked file types with long names and inside archives (issue 28, item 5): the whole name
is judged before it is cut, a cut name keeps its extension, a zip holding a blocked type is
refused like that file, and an archive that cannot be looked into (bomb, corrupt, encrypted)
is refused without costing intake more than a bounded read. Files crafted here."""

from __future__ import annotations

import email
import io
import json
import struct
import time
import zipfile
from datetime import UTC, datetime
from email.policy import default

from openpyxl import Workbook

from mailbot.entry import Submission, file_submission
from mailbot.ingest import archives, limits
from mailbot.models import Event, OutboundMessage, StoredAttachment
from mailbot.types import LedgerStatus

from support.app import rows

BLOCKED = (".exe", ".js", ".scr")
EXE = b"MZ\x90\x00" + b"\x00" * 60


def zipped(*members: tuple[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def mail_with(name: str, payload: bytes, mid: str) -> bytes:
    msg = email.message.EmailMessage()
    msg["From"] = "Mario Bianchi <mario.bianchi@example.net>"
    msg["To"] = "suggerimenti@comune.example.it"
    msg["Subject"] = "Documenti"
    msg["Message-ID"] = f"<{mid}@example.net>"
    msg.set_content("In allegato i documenti.")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def forwarded(services) -> list[str]:
    """The file names the office was sent with the case."""
    row = next(o for o in rows(services, OutboundMessage) if o.kind == "notification")
    message = email.message_from_bytes(row.raw, policy=default)
    return [part.get_filename() for part in message.iter_attachments()]


def refused_names(services) -> list[str]:
    events = [e for e in rows(services, Event) if e.kind == "attachment.refused"]
    return [name for e in events for name in json.loads(e.data)["refused"]]


def test_a_blocked_type_with_a_300_character_name_is_refused(services, process):
    name = "a" * 300 + ".exe"
    assert process(mail_with(name, EXE, "long-exe")).status == LedgerStatus.FILED
    assert forwarded(services) == []
    refused = refused_names(services)
    assert len(refused) == 1 and refused[0].endswith(".exe (type)")


def test_a_long_accepted_name_is_cut_keeping_its_extension(services, process):
    name = "verbale " * 60 + ".pdf"
    process(mail_with(name, b"%PDF-1.7\n", "long-pdf"))
    (stored,) = rows(services, StoredAttachment)
    assert len(stored.filename) == limits.MAX_FILENAME and stored.filename.endswith("….pdf")
    assert forwarded(services) == [stored.filename]


def test_cutting_a_name_never_hides_its_type():
    for name in ("a" * 300 + ".exe", "b" * 254 + ".js", "c" * 1000 + ".tar.exe"):
        cut = limits.cap_filename(name)
        assert len(cut) == limits.MAX_FILENAME and limits.blocked_name(cut, BLOCKED), name
    assert limits.cap_filename("a.pdf") == "a.pdf"
    # trailing dots, blanks and invisible characters after the extension: judged on the whole
    for name in ("a" * 300 + ".exe" + "." * 300, "a" * 300 + ".exe" + " " * 300):
        assert limits.blocked_name(name, BLOCKED), name[-10:]


def test_a_zip_holding_an_executable_is_refused_by_mail_and_by_the_web_form(services, process):
    archive = zipped(("leggimi.txt", b"ciao"), ("fattura.pdf.exe", EXE))
    process(mail_with("documenti.zip", archive, "zip-exe"))
    assert forwarded(services) == []
    file_submission(
        services,
        Submission(
            channel="web",
            subject="Documenti",
            text="Allego i documenti.",
            name="Anna Neri",
            email="anna.neri@example.net",
            received_at=datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
            attachments=[("documenti.zip", archive)],
        ),
        actor="web",
    )
    assert refused_names(services) == ["documenti.zip (type)"] * 2
    assert rows(services, StoredAttachment) == []


def test_a_zip_of_harmless_documents_goes_to_the_office(services, process):
    archive = zipped(("foto/buca.jpg", b"\xff\xd8\xff"), ("relazione.exe.pdf", b"%PDF"))
    process(mail_with("foto.zip", archive, "zip-ok"))
    assert forwarded(services) == ["foto.zip"]


def test_what_hides_in_an_archive_is_found_however_it_is_written():
    hidden = (
        zipped(("cartella/sotto/virus.exe", EXE)),
        zipped(("x" * 400 + ".exe", EXE)),  # a long member name
        zipped(("fattura.\u0435\u0445\u0435", EXE)),  # Cyrillic look-alikes
        zipped(("fattura.exe.", EXE)),  # Windows drops the dot
        zipped(("cartella\\virus.scr", EXE)),  # a Windows separator
        zipped(("a.zip", zipped(("b.zip", zipped(("c.js", b"alert(1)")))))),  # nested twice
        zipped(("dentro.pdf", zipped(("virus.exe", EXE)))),  # a zip renamed
    )
    for archive in hidden:
        assert archives.archive_problem("a.zip", archive, BLOCKED) == archives.BLOCKED_INSIDE
    # a zip not called .zip is still looked into
    assert archives.archive_problem("foto.jpg", hidden[0], BLOCKED) == archives.BLOCKED_INSIDE


def test_archives_that_cannot_be_looked_into_are_refused_quickly():
    too_deep = zipped(("v.txt", b"x"))
    for _ in range(archives.MAX_DEPTH):
        too_deep = zipped(("dentro.zip", too_deep))
    many = zipped(*((f"f{i}.txt", b"") for i in range(archives.MAX_MEMBERS + 1)))
    bomb = zipped(("bomba.zip", b"\x00" * (archives.MAX_INFLATED + 1024)))  # 64 MiB in 64 KiB
    cases = {
        "corrupt": b"PK\x03\x04" + b"\x00" * 200,
        "cut short": zipped(("a.txt", b"x" * 5000))[:-40],
        "encrypted": _encrypted_zip(),
        "too deep": too_deep,
        "too many members": many,
        "lying end record": _claims_zip64_members(),
        "a bomb nested": bomb,
        "not a zip at all": b"%PDF-1.7 niente zip qui",
    }
    for what, payload in cases.items():
        started = time.process_time()
        problem = archives.archive_problem("archivio.zip", payload, BLOCKED)
        assert problem == archives.NOT_INSPECTABLE, what
        assert time.process_time() - started < 2, what
    for name in ("archivio.rar", "archivio.7z", "archivio.tar.gz"):
        assert archives.archive_problem(name, b"Rar!\x1a\x07", BLOCKED) == archives.NOT_INSPECTABLE


def test_a_declared_size_is_never_believed():
    # a nested "zip" of 80 MiB that its directory says is 100 bytes, and one that says it all
    honest = zipped(("bomba.zip", b"PK\x03\x04" + b"\x00" * (80 * 1024 * 1024)))
    lying = bytearray(honest)
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = lying.find(signature)
        struct.pack_into("<I", lying, at + size_at, 100)  # uncompressed size
    for payload in (honest, bytes(lying)):
        started = time.process_time()
        assert archives.archive_problem("a.zip", payload, BLOCKED) == archives.NOT_INSPECTABLE
        assert time.process_time() - started < 2


def test_plain_files_and_office_documents_are_not_refused_as_archives(tmp_path):
    book = Workbook()
    book.active["A1"] = "Relazione"
    book.save(tmp_path / "relazione.xlsx")  # an Office file is a zip of XML parts
    document = (tmp_path / "relazione.xlsx").read_bytes()
    assert archives.archive_problem("relazione.xlsx", document, BLOCKED) is None
    assert archives.archive_problem("foto.jpg", b"\xff\xd8\xff\xe0", BLOCKED) is None
    assert archives.archive_problem("relazione.pdf", b"%PDF-1.7", BLOCKED) is None


def _encrypted_zip() -> bytes:
    payload = bytearray(zipped(("segreto.txt", b"x" * 100)))
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set bit 0 of the flags
        at = payload.find(signature)
        (flags,) = struct.unpack_from("<H", payload, at + flag_at)
        struct.pack_into("<H", payload, at + flag_at, flags | 0x1)
    return bytes(payload)


def _claims_zip64_members() -> bytes:
    payload = bytearray(zipped(("a.txt", b"x")))
    at = payload.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", payload, at + 8, 0xFFFF, 0xFFFF)
    return bytes(payload)
