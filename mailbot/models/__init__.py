"""SQLModel tables, one module per part of the schema: `mail` (cursors, leases, instances, the
inbound ledger, the outbox, PEC receipts, digests), `registry` (taxpayers and contacts), `cases`
(work orders, their conversation, attachments, corrective actions, refunds, survey answers and
the event log), `protocol` (registrations due in the protocol register), `staff` (the members
added from the command line), over `columns` (how times are stored). Callers import the tables
from here, the schema as one name space, as Alembic and the migrations read it. No SQLite-only
SQL anywhere: PostgreSQL is the scale-out path.
"""

from __future__ import annotations

from mailbot.models.cases import (
    ConversationMessage,
    CorrectiveAction,
    Event,
    Refund,
    StoredAttachment,
    SurveyResponse,
    WorkOrder,
    WorkOrderCounter,
)
from mailbot.models.columns import UTCDateTime, utcnow
from mailbot.models.mail import (
    DigestSent,
    InboundMessage,
    MailbotInstance,
    MailboxCursor,
    MailboxLease,
    OutboundMessage,
    PecReceipt,
    WebHit,
)
from mailbot.models.protocol import ProtocolRegistration
from mailbot.models.registry import Contact, Taxpayer, TaxpayerAddress, TaxpayerToken
from mailbot.models.staff import StaffAddress, StaffMember, StaffSession, StaffSignIn

__all__ = [
    "Contact",
    "ConversationMessage",
    "CorrectiveAction",
    "DigestSent",
    "Event",
    "InboundMessage",
    "MailbotInstance",
    "MailboxCursor",
    "MailboxLease",
    "OutboundMessage",
    "PecReceipt",
    "ProtocolRegistration",
    "Refund",
    "StaffAddress",
    "StaffMember",
    "StaffSession",
    "StaffSignIn",
    "StoredAttachment",
    "SurveyResponse",
    "Taxpayer",
    "TaxpayerAddress",
    "TaxpayerToken",
    "UTCDateTime",
    "WebHit",
    "WorkOrder",
    "WorkOrderCounter",
    "utcnow",
]
