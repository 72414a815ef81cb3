"""Spam: the upstream filters' verdicts (SpamAssassin/amavis, rspamd, Microsoft 365, admin
rules) are honoured only as our own servers wrote them; held mail opens no case and sends
nothing; `mailbot spam release` opens the case as if it had just arrived; a DMARC failure
under a reject/quarantine policy opens a flagged case that gets no automatic message."""

from __future__ import annotations

import email
import json
import mailbox
import tomllib
from email.policy import default

import pytest

from mailbot import config as config_module
from mailbot.config.policy_reader import read_spam
from mailbot.config.table import Table
from mailbot.ingest import spam
from mailbot.models import Event, InboundMessage, OutboundMessage, WorkOrder
from mailbot.types import LedgerStatus

from support.app import (
    counts,
    fixture_bytes,
    make_process,
    make_services,
    rows,
    run_cli,
    write_config,
)
from support.servers import free_port

TRUSTED = '[spam]\ntrusted_hosts = ["imap.comune.example.it", "mx1.comune.example.it"]\n'
HELD = {
    "spamassassin_flag_yes.eml": "spamassassin",
    "amavis_status_yes_only.eml": "spamassassin",
    "rspamd_result_true.eml": "rspamd",
    "rspamd_action_add_header.eml": "rspamd",
    "rspamd_x_spam_yes.eml": "rspamd",
    "microsoft_scl_9.eml": "microsoft",
    "microsoft_forefront_spm.eml": "microsoft",
    "barracuda_rule.eml": "rule:barracuda",
    "forged_no_below_real_yes.eml": "spamassassin",
}
CLEAN = (
    "spamassassin_status_no.eml",
    "rspamd_no_action.eml",
    "microsoft_clean.eml",
    "forged_flag_below_our_servers.eml",
)
RULE = '[[spam.rules]]\nname = "barracuda"\nheader = "X-Barracuda-Spam-Status"\npattern = "^yes"\n'


def settings(extra: str = TRUSTED + RULE) -> config_module.SpamSettings:
    """The [spam] section alone, read as the config reader reads it."""
    data = tomllib.loads(extra) if extra else {}
    return read_spam(Table(data.get("spam", {}), "spam"))


@pytest.fixture
def spam_services(tmp_path):
    (tmp_path / "maildir").mkdir()
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=TRUSTED + RULE))
    yield services
    services.engine.dispose()


@pytest.mark.parametrize(("name", "filter_name"), sorted(HELD.items()))
def test_each_filters_spam_verdict_is_read(name, filter_name):
    verdict = spam.header_verdict(fixture_bytes(f"spam/{name}"), settings())
    assert verdict is not None and verdict.filter == filter_name


@pytest.mark.parametrize("name", CLEAN)
def test_clean_verdicts_and_forged_headers_are_not_spam(name):
    assert spam.header_verdict(fixture_bytes(f"spam/{name}"), settings()) is None


def test_a_verdict_below_our_servers_received_line_was_written_by_the_sender():
    raw = fixture_bytes("spam/forged_flag_below_our_servers.eml")
    assert spam.header_verdict(raw, settings()) is None
    # Without trusted hosts only the topmost copy counts: the filter's own "No".
    assert spam.header_verdict(raw, settings("")) is None
    # The sender's "NO" under the filter's "YES" does not save a spam.
    forged_ham = fixture_bytes("spam/forged_no_below_real_yes.eml")
    assert spam.header_verdict(forged_ham, settings("")) is not None


def test_scores_and_thresholds():
    sa = spam.header_verdict(fixture_bytes("spam/spamassassin_flag_yes.eml"), settings())
    assert sa is not None and sa.score == 8.7
    rs = spam.header_verdict(fixture_bytes("spam/rspamd_result_true.eml"), settings())
    assert rs is not None and rs.score == 16.4
    strict = settings(TRUSTED + "microsoft_scl = 9\n")
    assert spam.header_verdict(fixture_bytes("spam/microsoft_scl_9.eml"), strict) is not None
    lax = settings('[spam]\nfilters = ["spamassassin"]\n')
    assert spam.header_verdict(fixture_bytes("spam/microsoft_scl_9.eml"), lax) is None


@pytest.mark.parametrize("name", sorted(HELD))
def test_spam_opens_no_case_and_sends_nothing(spam_services, name):
    outcome = make_process(spam_services)(f"spam/{name}")
    assert outcome.status == LedgerStatus.SPAM
    assert outcome.work_order_number is None
    assert counts(spam_services) == (1, 0, 0)
    entry = rows(spam_services, InboundMessage)[0]
    assert entry.status == "spam" and entry.reason.startswith("spam (")
    assert [e.kind for e in rows(spam_services, Event)] == ["inbound.spam"]


@pytest.mark.parametrize("name", CLEAN)
def test_clean_mail_marked_by_the_same_filters_gets_its_case(spam_services, name):
    outcome = make_process(spam_services)(f"spam/{name}")
    assert outcome.status == LedgerStatus.FILED
    kinds = sorted(o.kind for o in rows(spam_services, OutboundMessage))
    assert kinds == ["confirmation", "notification"]


def test_what_the_read_ahead_process_found_is_what_the_pipeline_holds_by(
    spam_services, monkeypatch
):
    """Through a backlog the read-ahead process peeks and asks the filters' headers; the
    pipeline takes its verdict and its peek as they are, and asks nothing again."""
    from datetime import UTC, datetime

    from mailbot import pipeline
    from mailbot.ingest import reading
    from mailbot.types import Origin

    flagged = fixture_bytes("spam/spamassassin_flag_yes.eml")
    ahead = reading.ahead(spam_services.store.put(flagged), flagged, spam_services.settings.spam)
    assert ahead.judged and ahead.filtered is not None

    def asked_again(*_args):
        raise AssertionError("asked again")

    monkeypatch.setattr(spam, "header_verdict", asked_again)
    monkeypatch.setattr(pipeline, "peek", asked_again)
    origin = Origin("suggerimenti", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), source_ref="ra-1")
    pending = pipeline.prepare(spam_services, flagged, origin, ahead)
    [outcome] = pipeline.file(spam_services, [pending], pipeline.unfenced)
    assert outcome.status == LedgerStatus.SPAM
    entry = rows(spam_services, InboundMessage)[0]
    assert entry.message_id == ahead.peeked.message_id and entry.reason.startswith("spam (")


def test_release_opens_the_case_as_if_it_had_just_arrived(tmp_path):
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(fixture_bytes("spam/spamassassin_flag_yes.eml"))
    box.add(fixture_bytes("citizen_plain.eml"))
    config = write_config(tmp_path / "mailbot.toml", transport="directory", extra=TRUSTED)
    assert run_cli("--config", str(config), "run", "--once").returncode == 0
    listed = run_cli("--config", str(config), "spam", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    held = json.loads(listed.stdout)
    assert len(held) == 1 and held[0]["score"] == 8.7
    assert "spamassassin" in held[0]["reason"]
    shown = run_cli("--config", str(config), "spam", "show", str(held[0]["id"]))
    assert "X-Spam-Flag: YES" in shown.stdout and "spam release" in shown.stdout
    released = run_cli("--config", str(config), "spam", "release", str(held[0]["id"]))
    assert released.returncode == 0, released.stderr
    assert "filed (2026/000002)" in released.stdout
    services = make_services(config)
    case = next(w for w in rows(services, WorkOrder) if w.number == "2026/000002")
    sent = [o for o in rows(services, OutboundMessage) if o.work_order_id == case.id]
    assert sorted(o.kind for o in sent) == ["confirmation", "notification"]
    assert all(o.status == "sent" for o in sent)
    assert "spam.released" in [e.kind for e in rows(services, Event)]
    again = run_cli("--config", str(config), "spam", "release", str(held[0]["id"]))
    assert again.returncode == 1 and "held as spam" not in again.stdout
    assert "no spam message" in again.stderr and "Traceback" not in again.stderr


def test_a_second_run_files_nothing_and_the_digest_counts_what_was_held(tmp_path):
    box = mailbox.Maildir(tmp_path / "maildir", create=True)
    box.add(fixture_bytes("spam/rspamd_action_add_header.eml"))
    box.add(fixture_bytes("spam/microsoft_scl_9.eml"))
    # The digest is due from midnight: run --once sends it whatever the hour of the test.
    extra = TRUSTED + '[charter]\ndigest_time = "00:00"\n'
    config = write_config(tmp_path / "mailbot.toml", transport="directory", extra=extra)
    for _ in range(2):
        assert run_cli("--config", str(config), "run", "--once").returncode == 0
    services = make_services(config)
    assert counts(services)[:2] == (2, 0)
    sent = rows(services, OutboundMessage)
    assert [o.kind for o in sent] == ["digest"]
    text = email.message_from_bytes(sent[0].raw, policy=default).get_body(("plain",)).get_content()
    assert "Posta trattenuta come spam nelle ultime 24 ore: 2 messaggi" in text


def test_dmarc_reject_failure_opens_a_flagged_case_with_no_automatic_message(tmp_path):
    (tmp_path / "maildir").mkdir()
    extra = '[matching]\ntrusted_authserv_ids = ["mx1.comune.example.it"]\n'
    services = make_services(write_config(tmp_path / "mailbot.toml", extra=extra))
    outcome = make_process(services)("spam/dmarc_fail_reject.eml")
    assert outcome.status == LedgerStatus.FILED
    case = rows(services, WorkOrder)[0]
    assert case.sender_alert.startswith("dmarc=fail (p=reject)")
    sent = rows(services, OutboundMessage)
    assert [o.kind for o in sent] == ["notification"]
    assert "mittente probabilmente falsificato" in sent[0].raw.decode()
    suppressed = [e for e in rows(services, Event) if e.kind == "message.suppressed"]
    assert len(suppressed) == 1 and "dmarc=fail" in suppressed[0].data


def test_config_errors_name_the_key():
    bad = {
        '[spam]\nfilters = ["spamhaus"]\n': "spam.filters",
        '[spam]\nrspamd_url = "localhost:11333"\n': "spam.rspamd_url",
        '[spam]\non_rspamd_error = "drop"\n': "spam.on_rspamd_error",
        '[[spam.rules]]\nheader = "X-Foo"\npattern = "(["\n': "spam.rules[0].pattern",
        '[[spam.rules]]\npattern = "yes"\n': "spam.rules[0].header",
        "[spam]\nmicrosoft_scl = 12\n": "spam.microsoft_scl",
    }
    for text, key in bad.items():
        with pytest.raises(config_module.ConfigError, match=key.replace("[", r"\[")):
            settings(text)


# --- a real rspamd on loopback ------------------------------------------------------------


def rspamd_config(tmp_path, server_url: str, on_error: str = "defer"):
    (tmp_path / "maildir").mkdir(parents=True, exist_ok=True)
    extra = f'[spam]\nrspamd_url = "{server_url}"\nrspamd_timeout = "5s"\non_rspamd_error = "{on_error}"\n'
    return write_config(tmp_path / "mailbot.toml", extra=extra)


def plain(body: str, n: int) -> bytes:
    return (
        f"From: Anna Verdi <anna.verdi{n}@example.net>\r\nTo: suggerimenti@comune.example.it\r\n"
        f"Subject: Segnalazione {n}\r\nMessage-ID: <rspamd-{n}@example.net>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.integration
def test_a_local_rspamd_is_asked_when_configured(tmp_path, rspamd):
    services = make_services(rspamd_config(tmp_path, rspamd.url))
    process = make_process(services)
    held = process(plain(f"Compra ora! {rspamd.marker}", 1))
    assert held.status == LedgerStatus.SPAM
    assert held.reason.startswith("spam (rspamd-http): action reject, score 20")
    assert "MAILBOT_TEST_SPAM" in held.reason
    clean = process(plain("Il semaforo di piazza Duomo non funziona.", 2))
    assert clean.status == LedgerStatus.FILED
    assert counts(services) == (2, 1, 2)
    entry = rows(services, InboundMessage)[0]
    assert entry.spam_score == 20.0
    checked = run_cli("--config", str(tmp_path / "mailbot.toml"), "check")
    assert f"ok    rspamd: rspamd at {rspamd.url} answers 'pong'" in checked.stdout


@pytest.mark.integration
def test_rspamd_down_defers_the_mailbox_or_lets_mail_through_as_configured(tmp_path):
    from mailbot.errors import TransientError

    dead = f"http://127.0.0.1:{free_port()}"
    services = make_services(rspamd_config(tmp_path / "defer", dead))
    with pytest.raises(TransientError, match="rspamd"):
        make_process(services)(plain("Lampione spento.", 3))
    assert counts(services) == (0, 0, 0)  # nothing recorded: the mailbox retries it later
    accepting = make_services(rspamd_config(tmp_path / "accept", dead, on_error="accept"))
    assert make_process(accepting)(plain("Lampione spento.", 4)).status == LedgerStatus.FILED
    checked = run_cli("--config", str(tmp_path / "defer" / "mailbot.toml"), "check")
    assert (
        checked.returncode == 1
        and f"FAIL  rspamd: rspamd at {dead} did not answer" in checked.stdout
    )
