"""What each kind of mail does to a case, inside the message's transaction: a citizen's new
mail opens a case (confirmation to the citizen, notification to the office); a follow-up joins
its case and is forwarded to the office; an operator's answer is stripped of quoted history,
its commands applied, and the rest relayed to the citizen from the mailbox's address.

The pipeline decides which of these applies; the CLI's `workorders reply|note|assign|close|
reopen` go through `apply_operator_message` too, so email and command line behave the same.

One module per flow (`intake`, `operator`, `delivery_reports`, `certify`) over what they
share (`messages`, `notices`, `attachments`); the pipeline calls the names exported here.
"""

from __future__ import annotations

from mailbot.cases.attachments import blocked_name
from mailbot.cases.certify import certified_sender
from mailbot.cases.delivery_reports import record_bounce, record_pec_receipt
from mailbot.cases.intake import add_followup, open_case, satisfaction
from mailbot.cases.messages import Incoming
from mailbot.cases.notices import report_failures
from mailbot.cases.operator import (
    apply_operator_message,
    handle_operator_reply,
    operator_action,
    problems,
)

__all__ = [
    "Incoming",
    "add_followup",
    "apply_operator_message",
    "blocked_name",
    "certified_sender",
    "handle_operator_reply",
    "open_case",
    "operator_action",
    "problems",
    "record_bounce",
    "record_pec_receipt",
    "report_failures",
    "satisfaction",
]
