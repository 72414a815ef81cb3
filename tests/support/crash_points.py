"""Where a test may crash the CLI hard (tests/support/crash_launcher.py), by stable label: each
label names a function of the crash-safe sequence by the object itself, so a module that moves
changes one line here (and an import that no longer resolves fails at once, not mid-test).
"""

from __future__ import annotations

from typing import Any

from mailbot.cases import workorders
from mailbot.ingest import parse
from mailbot.replies import outbox, sender, sent_journal

# label → (owner of the attribute, attribute name)
POINTS: dict[str, tuple[Any, str]] = {
    "parse": (parse, "parse"),  # the ledger row written in the transaction, nothing else
    "open-work-order": (workorders, "open_work_order"),  # the case flushed, not committed
    "queue-outbound": (outbox, "enqueue"),  # a message queued, not committed
    "smtp-send": (sender.SmtpTransport, "send"),  # the sender claimed its rows, sends one
    # SQLite: a mail the relay accepted noted in the sender's journal, not yet in the database
    "sent-journal-append": (sent_journal.SentJournal, "append"),
}
