"""A case's evidence file for ARERA's conciliation service (issue 33): one ZIP with the summary
as a PDF (the case's data, its dates, every message and event in order), every message as
received (`originali/`, the store's bytes), every message mailbot wrote for the case
(`inviati/`, the outbox's bytes), every attachment (`allegati/`), the event log
(`eventi.json`), and `manifest.json` and `SHA256SUMS` with the SHA-256 of each file, so
whoever receives it checks it with `sha256sum -c SHA256SUMS`. Names in the archive are built
here (a citizen's attachment name is untrusted: only letters, digits and a few signs remain)
and come in the same order each time. The export is recorded: `work_order.exported` with who,
the format and the archive's digest."""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from mailbot.cases import pdf, transcript, wording, workorders
from mailbot.db import record_event, unit_of_work
from mailbot.models import (
    ConversationMessage,
    InboundMessage,
    OutboundMessage,
    PecReceipt,
    StoredAttachment,
    WorkOrder,
    utcnow,
)
from mailbot.services import Services

FORMAT = "evidence"
VERSION = "mailbot-evidence/1"

LABELS = {
    "it": {
        "received": "Ricevuta il",
        "confirmed": "Conferma di ricevimento",
        "answered": "Risposta motivata",
        "closed": "Chiusa il",
        "exported": "Fascicolo per la conciliazione",
        "by": "esportato da",
        "annex": "Contenuto dell'archivio (SHA-256; verifica: sha256sum -c SHA256SUMS)",
    },
    "en": {
        "received": "Received",
        "confirmed": "Acknowledged",
        "answered": "Reasoned reply",
        "closed": "Closed",
        "exported": "Conciliation evidence file",
        "by": "exported by",
        "annex": "Archive contents (SHA-256; check: sha256sum -c SHA256SUMS)",
    },
}
_SIGNS = frozenset(" .-_()+,")


def safe_name(name: str, fallback: str = "file", limit: int = 80) -> str:
    """A file name that means the same on every system: letters and digits of any script and
    ` .-_()+,`; anything else (path separators, control and bidirectional characters, quotes)
    becomes `_`; never empty, never starting with a dot; cut to `limit`, extension kept."""
    text = unicodedata.normalize("NFC", name)
    kept = "".join(c if c.isalnum() or c in _SIGNS else "_" for c in text)
    while "__" in kept or "  " in kept:
        kept = kept.replace("__", "_").replace("  ", " ")
    kept = kept.strip(" ._")
    if not kept:
        return fallback
    if len(kept) > limit:
        stem, dot, ext = kept.rpartition(".")
        suffix = f".{ext}" if dot and stem and len(ext) <= 10 else ""
        kept = kept[: limit - len(suffix)].rstrip(" ._") + suffix
    return kept


@dataclass
class _Archive:
    files: list[tuple[str, bytes, dict[str, Any]]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, data: bytes | None, **about: Any) -> None:
        if data is None:
            self.missing.append({"name": name, "reason": "not in the store (purged or lost)"})
        else:
            self.files.append((name, data, about))


def _stored(services: Services, digest: str) -> bytes | None:
    if not digest:  # emptied by `mailbot purge`
        return None
    try:
        return services.store.get(digest)
    except OSError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _collect(services: Services, session: Session, wo: WorkOrder, archive: _Archive) -> None:
    """Originals, what was sent and the attachments, each numbered in the order it came."""
    messages = list(
        session.exec(
            select(ConversationMessage)
            .where(ConversationMessage.work_order_id == wo.id)
            .order_by(col(ConversationMessage.id))
        )
    )
    kinds = {m.inbound_id: m.kind for m in messages if m.inbound_id is not None}
    sent = list(
        session.exec(
            select(OutboundMessage)
            .where(OutboundMessage.work_order_id == wo.id)
            .order_by(col(OutboundMessage.id))
        )
    )
    receipts = {
        r.inbound_id: f"pec-{r.type}"
        for r in session.exec(
            select(PecReceipt).where(col(PecReceipt.outbound_id).in_([s.id for s in sent]))
        )
    }
    received = session.exec(
        select(InboundMessage)
        .where(
            or_(
                col(InboundMessage.work_order_id) == wo.id,
                col(InboundMessage.id).in_([*kinds, *receipts]),
            )
        )
        .order_by(col(InboundMessage.id))
    )
    for n, inbound in enumerate(received, start=1):
        key = inbound.id or 0
        kind = kinds.get(key) or receipts.get(key) or inbound.kind or "message"
        archive.add(
            f"originali/{n:03d}-{safe_name(kind)}.eml",
            _stored(services, inbound.raw_sha256),
            kind="received", message_kind=kind, message_id=inbound.message_id,
            received_at=_iso(inbound.received_at),
        )  # fmt: skip
    for n, out in enumerate(sent, start=1):
        archive.add(
            f"inviati/{n:03d}-{safe_name(out.kind)}.eml",
            out.raw,
            kind="sent", message_kind=out.kind, message_id=out.message_id, status=out.status,
            created_at=_iso(out.created_at), sent_at=_iso(out.sent_at),
        )  # fmt: skip
    for n, message in enumerate(messages, start=1):
        attachments = session.exec(
            select(StoredAttachment)
            .where(StoredAttachment.message_id == message.id)
            .order_by(col(StoredAttachment.id))
        )
        for k, a in enumerate(attachments, start=1):
            archive.add(
                f"allegati/{n:03d}-{k}-{safe_name(a.filename, 'allegato')}",
                _stored(services, a.sha256),
                kind="attachment", filename=a.filename, content_type=a.content_type,
                message_kind=message.kind, message_date=_iso(message.date),
            )  # fmt: skip


def _dates(session: Session, wo: WorkOrder) -> dict[str, datetime | None]:
    confirmation = session.exec(
        select(OutboundMessage)
        .where(OutboundMessage.work_order_id == wo.id)
        .where(OutboundMessage.kind == "confirmation")
        .order_by(col(OutboundMessage.id))
    ).first()
    confirmed = (confirmation.sent_at or confirmation.created_at) if confirmation else None
    return {
        "received": wo.received_at,
        "confirmed": confirmed,
        "answered": wo.reasoned_reply_at,
        "closed": wo.closed_at,
        "due": wo.due_at,
    }


def export(services: Services, number: str, actor: str, via: str = "cli") -> bytes:
    """The evidence file of case `number` as ZIP bytes; NotFoundError for an unknown number.
    The export is recorded once the archive is whole."""
    settings = services.settings
    language, case, events, _ = transcript.case_file(services, number)
    archive = _Archive()
    with unit_of_work(services.engine) as session:
        wo = workorders.by_number(session, number)
        _collect(services, session, wo, archive)
        dates = _dates(session, wo)
        case_id, office, subject = wo.id, wo.office, wo.subject
    now = utcnow()
    archive.files.append(("eventi.json", _json([_event(e) for e in events]), {"kind": "events"}))
    label = LABELS.get(language, LABELS["it"])
    tz = settings.timezone
    timeline = [
        (label[k], wording.when(dates[k], tz, language) or "—") for k in label if k in dates
    ]
    exported = f"{wording.when(now, tz, language)}, {label['by']} {actor}"
    listed = sorted((name, hashlib.sha256(data).hexdigest()) for name, data, _ in archive.files)
    summary = pdf.render(
        case, events, language, services.composer.institution,
        extra=[*timeline, (label["exported"], exported)], annex=(label["annex"], listed),
    )  # fmt: skip
    archive.files.append(("riepilogo.pdf", summary, {"kind": "summary"}))
    manifest = {
        "format": VERSION,
        "institution": services.composer.institution,
        "case": {
            "number": number,
            "office": office,
            "subject": subject,
            **{f"{k}_at": _iso(v) for k, v in dates.items()},
        },
        "exported_at": _iso(now),
        "exported_by": actor,
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), **about}
            for name, data, about in sorted(archive.files, key=lambda f: f[0])
        ],
        "missing": archive.missing,
    }
    data = _zip(sorted((n, d) for n, d, _ in archive.files), _json(manifest), now.astimezone(tz))
    with unit_of_work(services.engine) as session:
        record_event(
            session, "work_order.exported", work_order_id=case_id, actor=actor, format=FORMAT,
            via=via, files=len(archive.files), sha256=hashlib.sha256(data).hexdigest(),
        )  # fmt: skip
    return data


def _event(event: dict[str, Any]) -> dict[str, Any]:
    return {key: event[key] for key in ("at", "kind", "kind_text", "actor", "data")}


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def _zip(files: list[tuple[str, bytes]], manifest: bytes, when: datetime) -> bytes:
    """The archive: the files by name, then manifest.json, then SHA256SUMS over all of them
    in `sha256sum`'s own format (digest, two spaces, name), dated the moment of the export."""
    entries = [*files, ("manifest.json", manifest)]
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in entries)
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*entries, ("SHA256SUMS", sums.encode())]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()
