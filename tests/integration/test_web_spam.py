"""A web submission is screened for spam like mail: with `[spam] rspamd_url`, the message
mailbot writes for it is checked by the real rspamd; spam is held with the held mail (no case,
no confirmation, in `spam list`, releasable) and the visitor sees the neutral "received" page."""

from __future__ import annotations

import json

import pytest

from mailbot.models import InboundMessage, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus
from mailbot.web.app import create_app

from support.app import make_services, rows, run_cli, write_config
from support.web import form_of

pytestmark = pytest.mark.integration

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture
def desk(tmp_path, rspamd):
    (tmp_path / "maildir").mkdir()
    config = write_config(
        tmp_path / "mailbot.toml",
        transport="directory",
        extra=f'[spam]\nrspamd_url = "{rspamd.url}"\nrspamd_timeout = "5s"\n'
        '[web]\nlisten = "127.0.0.1:8099"\nrate_limit = "100 per hour"\n',
    )
    services = make_services(config)
    yield services, create_app(lambda: services).test_client(), config
    services.engine.dispose()


def submit(client, text: str, subject: str = "Buca in via Roma"):
    page = client.get("/").get_data(as_text=True)
    form = form_of(
        page,
        name="Anna Verdi",
        email="anna.verdi@example.net",
        subject=subject,
        text=text,
        privacy="y",
    )
    return client.post("/", data=form, follow_redirects=True)


def test_a_spam_submission_is_held_like_spam_mail(desk):
    services, client, config = desk
    page = submit(client, f"Offerta imperdibile.\n{GTUBE}\n")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert "Segnalazione ricevuta" in shown and "spam" not in shown.lower()
    assert "esaminata dall'ufficio" in shown and "inviato una conferma" not in shown
    assert rows(services, WorkOrder) == [] and rows(services, OutboundMessage) == []
    (entry,) = rows(services, InboundMessage)
    assert entry.status == LedgerStatus.SPAM and entry.reason.startswith("spam (rspamd-http)")
    listed = run_cli("--config", str(config), "spam", "list", "--json")
    assert [m["id"] for m in json.loads(listed.stdout)] == [entry.id]
    # An admin who finds it is not spam releases it: the case opens then.
    released = run_cli("--config", str(config), "spam", "release", str(entry.id))
    assert released.returncode == 0, released.stderr
    assert len(rows(services, WorkOrder)) == 1


def test_a_clean_submission_is_filed(desk):
    services, client, _ = desk
    page = submit(client, "Il lampione di via Roma 3 è spento da una settimana.")
    assert page.status_code == 200 and '<strong id="number">' in page.get_data(as_text=True)
    (case,) = rows(services, WorkOrder)
    assert case.channel == "web"
    assert sorted(o.kind for o in rows(services, OutboundMessage)) == [
        "confirmation",
        "notification",
    ]
