"""Untimed set-up of one django-helpdesk run (run with bench/peer/.venv's Python): a fresh
SQLite database in BENCH_WORKDIR, migrated once per benchmark run (a template kept in
BENCH_PEER_CACHE and copied), and one Queue fetching from the benchmark's Dovecot over plain
IMAP."""

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_site.settings")
work = Path(os.environ["BENCH_WORKDIR"])
cache = Path(os.environ.get("BENCH_PEER_CACHE", work.parent)) / "helpdesk-template.sqlite3"
db = work / "helpdesk.sqlite3"
if cache.exists():
    shutil.copyfile(cache, db)

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

if not cache.exists():
    call_command("migrate", verbosity=0, interactive=False)
    shutil.copyfile(db, cache)

from helpdesk.models import Queue  # noqa: E402

Queue.objects.all().delete()
Queue.objects.create(
    title="Segnalazioni",
    slug="seg",
    email_address="protocollo@comune.example.it",
    allow_email_submission=True,
    email_box_type="imap",
    email_box_host=os.environ["BENCH_IMAP_HOST"],
    email_box_port=int(os.environ["BENCH_IMAP_PORT"]),
    email_box_ssl=False,
    email_box_user=os.environ["BENCH_IMAP_USER"],
    email_box_pass=os.environ["BENCH_IMAP_PASSWORD"],
    email_box_imap_folder="INBOX",
    email_box_interval=0,
    logging_type="none",
)
