"""Reports about mail we sent: delivery reports (bounces, delays) and PEC receipts, linked to
the message they report on; never a case, never an answer.
"""

from __future__ import annotations

from sqlmodel import Session, select

from mailbot.cases.messages import Incoming
from mailbot.cases.notices import Failure, tell_office_of_failure
from mailbot.db import record_event
from mailbot.ingest import bounce, ledger, pec
from mailbot.log import get_logger
from mailbot.models import InboundMessage, OutboundMessage, PecReceipt, WorkOrder
from mailbot.replies import outbox
from mailbot.replies.threading import provider_key
from mailbot.services import Services
from mailbot.types import Kind, LedgerStatus, Outcome

log = get_logger(__name__)


def record_bounce(services: Services, session: Session, mail: Incoming, raw: bytes) -> Outcome:
    """A delivery report: marked on the message it reports on, the office told of a hard
    failure; never a case, never an answer."""
    report = bounce.read(raw, mail.parsed.message_id)
    sent = outbox.by_message_id(session, report.original_message_id)
    failed = [r for r in report.recipients if sent is None or r.address in sent.recipients]
    work_order = session.get(WorkOrder, sent.work_order_id) if sent and sent.work_order_id else None
    hard = any(r.permanent for r in failed)
    if sent is not None and failed:
        # A delay is recorded, not a failure: the mail system is still trying.
        sent.bounce = "delayed" if report.verdict == "delayed" else "hard" if hard else "soft"
        sent.bounce_detail = "; ".join(
            f"{r.address} {r.status} {r.diagnostic}".strip() for r in failed
        )[:4000]
    record_event(
        session,
        f"outbound.{report.verdict}",
        work_order_id=work_order.id if work_order else None,
        inbound_id=mail.entry.id,
        original=report.original_message_id,
        recipients=[f"{r.address} {r.status}".strip() for r in failed],
    )
    if sent is not None and hard:
        sent.failure_reported = True  # reported here, not again by report_failures
        tell_office_of_failure(services, session, sent, failed)
    reason = f"{report.verdict}: " + (
        ", ".join(f"{r.address} {r.status}".strip() for r in failed) or "no recipient found"
    )
    if sent is None:
        reason += " (not about a message of ours)"
    return ledger.settle(
        mail.entry, LedgerStatus.BOUNCE, kind=Kind.BOUNCE, reason=reason, work_order=work_order
    )


PEC_FAILURES = frozenset({"non-accettazione", "errore-consegna", "rilevazione-virus"})


def record_pec_receipt(
    services: Services, session: Session, entry: InboundMessage, certified: pec.Pec, raw: bytes
) -> Outcome:
    """A PEC receipt or notice: kept as evidence and, when it is about one of our messages,
    linked to it (by our Message-ID, else by the provider's identificativo) and its PEC state
    moved on; the office is told of a failure once. Never a case, never an answer. A receipt
    whose signature does not verify is recorded but changes nothing: it proves nothing."""
    daticert = certified.daticert
    check = pec.verify(raw, services.settings.pec.ca_bundle, daticert.data if daticert else None)
    sent = outbox.by_message_id(session, certified.reference)
    if sent is None and daticert is not None:
        sent = outbox.by_provider_id(session, provider_key(daticert.identificativo))
    kind = certified.kind
    error = _pec_error(daticert)
    recipient = daticert.consegna.strip().lower() if daticert else ""
    # Providers' quirk (FORMAT.md pitfall 12): a warning with 5.4.1 is already the final word.
    final = (
        "errore-consegna"
        if kind == "preavviso-errore-consegna" and error.startswith("5.4.1")
        else kind
    )
    work_order_id = sent.work_order_id if sent else None
    record_event(
        session,
        f"pec.{kind}",
        work_order_id=work_order_id,
        inbound_id=entry.id,
        reference=certified.reference,
        recipient=recipient,
        error=error,
        identificativo=daticert.identificativo if daticert else "",
        signature=check.result,
        signature_detail=check.reason,
    )
    state = None
    if sent is not None:
        assert sent.id is not None and entry.id is not None
        session.add(
            PecReceipt(
                outbound_id=sent.id,
                inbound_id=entry.id,
                type=kind,
                date=daticert.data if daticert else None,
                recipient=recipient,
                error=error,
                signature=check.result,
            )
        )
        session.flush()
        if check.result != "invalid":
            state = _advance_pec_state(
                services, session, sent, final, daticert=daticert, recipient=recipient, error=error
            )
    about = f"about {certified.reference or 'an unknown message'}"
    reason = f"PEC {kind} {about}" + (f": {state}" if state else "")
    if sent is None:
        reason += " (not a message of ours)"
    elif check.result == "invalid":
        reason += f" (signature invalid: {check.reason}; not applied)"
    work_order = session.get(WorkOrder, work_order_id) if work_order_id else None
    return ledger.settle(
        entry, LedgerStatus.RECEIPT, kind=Kind.PEC_RECEIPT, reason=reason, work_order=work_order
    )


def _pec_error(daticert: pec.Daticert | None) -> str:
    if daticert is None:
        return ""
    if daticert.errore_esteso:
        return daticert.errore_esteso
    return "" if daticert.errore in ("", "nessuno") else daticert.errore


def _advance_pec_state(
    services: Services,
    session: Session,
    sent: OutboundMessage,
    kind: str,
    *,
    daticert: pec.Daticert | None,
    recipient: str,
    error: str,
) -> str:
    """The message's PEC state after this receipt; a failure reported to the office once."""
    before = sent.pec_state
    if kind == "accettazione":
        if daticert is not None and daticert.identificativo:
            sent.pec_provider_id = provider_key(daticert.identificativo)
        if before in (None, outbox.PEC_QUEUED, outbox.PEC_SENT):
            sent.pec_state = outbox.PEC_ACCEPTED
    elif kind == "non-accettazione":
        sent.pec_state = outbox.PEC_NOT_ACCEPTED
    elif kind in PEC_FAILURES:
        sent.pec_state = outbox.PEC_FAILED
    elif kind == "avvenuta-consegna" and before not in outbox.PEC_FINAL_FAILURES:
        assert sent.id is not None
        delivered = {
            r.recipient
            for r in session.exec(
                select(PecReceipt).where(
                    PecReceipt.outbound_id == sent.id, PecReceipt.type == "avvenuta-consegna"
                )
            )
        }
        wanted = {r.strip().lower() for r in sent.recipients.split(",") if r.strip()}
        sent.pec_state = outbox.PEC_DELIVERED if wanted <= delivered else outbox.PEC_ACCEPTED
    # presa-in-carico, and a preavviso without 5.4.1: recorded, nothing decided yet
    session.add(sent)
    failed_now = (
        sent.pec_state in outbox.PEC_FINAL_FAILURES and before not in outbox.PEC_FINAL_FAILURES
    )
    if failed_now and not sent.failure_reported:
        sent.failure_reported = True
        who = [recipient] if recipient else [r for r in sent.recipients.split(", ") if r]
        failures = [Failure(address, f"PEC {kind}", error) for address in who]
        tell_office_of_failure(services, session, sent, failures)
        log.warning(
            "pec message not delivered",
            outbound_id=sent.id,
            receipt=kind,
            error=error,
            security=kind == "rilevazione-virus" or "virus" in error,
        )
    return sent.pec_state or ""
