"""Delivery reports: which of our messages failed, for whom, and whether for good.

RFC 3464 reports (multipart/report; report-type=delivery-status) are read field by field:
each recipient's Action, Status and Diagnostic-Code. Mail systems that send free text instead
(qmail's "failure notice", Exchange's "Undeliverable", Italian providers' "Mancata consegna")
are read from the text: the addresses and the enhanced status code near them; where that finds
nobody, GNU Mailman's bounce detectors (flufl.bounce, the only importer) look. A report whose
text speaks of a delay and of no final failure is "delayed": recorded, not a failure. The
original Message-ID comes from the returned message or headers part, else from the text. Runs
only for mail already classified as a report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

from flufl.bounce import all_failures

from mailbot.ingest import signals

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45]\d\d)[ -]")
_ADDRESS = re.compile(r"<?([A-Za-z0-9._%+'=-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")
_MSGID = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class FailedRecipient:
    address: str
    status: str  # enhanced status code, e.g. "5.1.1"; "" when none was given
    permanent: bool
    diagnostic: str


@dataclass(frozen=True)
class Report:
    verdict: str  # "bounce", "delayed", "dsn_success", "feedback_report"
    recipients: tuple[FailedRecipient, ...]
    original_message_id: str | None


def read(raw: bytes, own_message_id: str | None = None) -> Report:
    message = message_from_bytes(raw, policy=compat32)
    param = message.get_param("report-type") if message.is_multipart() else None
    report_type = param.lower() if isinstance(param, str) else ""
    if report_type == "feedback-report":
        return Report("feedback_report", (), _original_id(message, raw, own_message_id))
    if report_type == "delivery-status":
        recipients, actions = _dsn_recipients(message)
        if recipients or actions:
            return Report(
                _verdict(recipients, actions),
                tuple(recipients),
                _original_id(message, raw, own_message_id),
            )
    text = _notice_text(message)
    recipients = _text_recipients(text) or _library_recipients(message, text)
    delay = signals.DELAY_TEXT.search(text[:5000].lower()) or signals.DELAY_TEXT.search(
        str(message.get("Subject", "")).lower()
    )
    recipients = [r if r.status or not delay else _soft(r) for r in recipients]
    verdict = "bounce" if any(r.permanent for r in recipients) or not delay else "delayed"
    return Report(verdict, tuple(recipients), _original_id(message, raw, own_message_id))


def _soft(recipient: FailedRecipient) -> FailedRecipient:
    return FailedRecipient(recipient.address, recipient.status, False, recipient.diagnostic)


def _library_recipients(message: Message, text: str) -> list[FailedRecipient]:
    """The layouts our text reading misses, by GNU Mailman's detectors (flufl.bounce): they
    find the address, not always how final the failure is; a code in the text says that."""
    try:
        permanent, temporary = all_failures(message)
    except Exception:  # detectors are heuristics over broken mail: a miss, never a crash
        return []
    code = _STATUS.search(text) or _SMTP_CODE.search(text)
    final = code is None or code.group(0).startswith("5")
    found = []
    for raw_address in sorted(permanent | temporary):
        address = raw_address.decode("utf-8", "replace").strip().strip("<>").lower()
        if _ADDRESS.fullmatch(address):
            found.append(FailedRecipient(address, "", raw_address in permanent or final, ""))
    return found


def _verdict(recipients: list[FailedRecipient], actions: list[str]) -> str:
    if any(r.permanent for r in recipients):
        return "bounce"
    if recipients:
        return "delayed"
    if actions and all(a in ("delivered", "relayed", "expanded") for a in actions):
        return "dsn_success"
    return "bounce"


def _dsn_recipients(message: Message) -> tuple[list[FailedRecipient], list[str]]:
    recipients: list[FailedRecipient] = []
    actions: list[str] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            action = str(block.get("Action", "")).strip().lower()
            if not action:
                continue
            actions.append(action)
            if action not in ("failed", "delayed"):
                continue
            address = _field_address(
                block.get("Final-Recipient") or block.get("Original-Recipient")
            )
            status_match = _STATUS.search(str(block.get("Status", "")))
            status = status_match.group(0) if status_match else ""
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
            permanent = action == "failed" and not status.startswith("4")
            if address:
                recipients.append(FailedRecipient(address, status, permanent, diagnostic[:500]))
    return recipients, actions


def _field_address(value: object) -> str:
    text = str(value or "")
    if ";" in text:
        text = text.split(";", 1)[1]
    found = _ADDRESS.search(text)
    return found.group(1).lower() if found else ""


def _text_recipients(text: str) -> list[FailedRecipient]:
    """Free-text bounces: addresses mentioned in the notice, with the nearest status code."""
    recipients: dict[str, FailedRecipient] = {}
    lines = text.splitlines()
    for index, line in enumerate(lines):
        for found in _ADDRESS.finditer(line):
            address = found.group(1).lower()
            if address.split("@")[0] in ("mailer-daemon", "postmaster") or address in recipients:
                continue
            window = "\n".join(lines[index : index + 6])
            status_match = _STATUS.search(window)
            code = _SMTP_CODE.search(window)
            if status_match is None and code is None:
                continue  # an address in passing, not a failed recipient
            status = status_match.group(0) if status_match else ""
            permanent = status.startswith("5") or (
                not status and code is not None and code.group(1).startswith("5")
            )
            recipients[address] = FailedRecipient(address, status, permanent, window.strip()[:500])
    return list(recipients.values())


def _notice_text(message: Message) -> str:
    """The human-readable part of the notice, not the returned message."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            break
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    payload = message.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _original_id(message: Message, raw: bytes, own_message_id: str | None) -> str | None:
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                value = inner[0].get("Message-ID")
                if value:
                    return str(value).strip()
            elif isinstance(inner, str):
                found = _MSGID.search(inner)
                if found:
                    return found.group(1)
    header_end = re.search(rb"\r?\n\r?\n", raw)
    body = raw[header_end.end() :].decode("utf-8", "replace") if header_end else ""
    for found in _MSGID.finditer(body):
        if found.group(1) != own_message_id:
            return found.group(1)
    return None
