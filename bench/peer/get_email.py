"""The timed part of the peer's run (bench/peer/.venv's Python): django-helpdesk's own
`get_email` management command, once, in one process; then what it did, for the check:
tickets (work orders), follow-ups and stored attachments."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
import django

django.setup()
from django.core.management import call_command  # noqa: E402

call_command("get_email", quiet=True)

from helpdesk.models import FollowUp, FollowUpAttachment, Ticket  # noqa: E402

print(f"FOLLOWUPS={FollowUp.objects.count() - Ticket.objects.count()}")
print(f"ATTACHMENTS={FollowUpAttachment.objects.count()}")
print(f"WORK_ORDERS={Ticket.objects.count()}")
