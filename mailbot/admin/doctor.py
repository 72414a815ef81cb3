"""`mailbot check`: config, database, storage, templates, OpenSSL, OAuth2 tokens, PEC, spam
filters, every mailbox and every SMTP account, each a `Check` (ok, what, detail) the CLI prints
as one line. Every check reaches the real thing (a login, a token, a render) and reports what
is wrong in words an admin can act on; none raises.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy.engine import make_url

from mailbot import db
from mailbot.admin.samples import template_failures
from mailbot.config import Settings
from mailbot.errors import MailbotError
from mailbot.storage import Store

Check = tuple[bool, str, str]  # ok, what was checked, what was found
Warning = tuple[str, str]  # what, why it may not be what the admin meant: printed, not failed


def run_checks(settings: Settings) -> list[Check]:
    """Every check after the config itself has loaded, in the order they are printed."""
    from mailbot.ingest.sources import make_source

    results: list[Check] = []
    results.append(_check_database(settings))
    results.append(_check_storage(settings))
    results.append(_check_templates(settings))
    results.append(_check_openssl())
    results.extend(_check_oauth(settings))
    results.extend(_check_pec(settings))
    results.extend(_check_spam(settings))
    for mailbox in settings.mailboxes:
        source = make_source(mailbox)
        try:
            reached = source.connect()
            done = "login accepted" if mailbox.source == "imap" else "readable"
            results.append((True, f"mailbox {mailbox.name}", f"{reached}: {done}"))
        except MailbotError as exc:
            detail = str(exc).removeprefix(f"mailbox {mailbox.name}: ")
            results.append((False, f"mailbox {mailbox.name}", detail))
        finally:
            source.close()
    results.extend(asyncio.run(_check_outbox(settings)))
    return results


def config_warnings(settings: Settings) -> list[Warning]:
    """A configuration that loads but may not mean what it says (review finding 2): under a
    regulated `[charter.requests]` profile an office that sets `response_days` keeps its own
    term (calendar days unless `working_days = true`), not the profile's terms per kind."""
    from mailbot.config.requests import PROFILES

    requests = settings.charter.requests
    terms = PROFILES[requests.profile].terms
    if not terms:
        return []
    theirs = ", ".join(f"{kind} {t.days}" for kind, t in terms.items())
    results: list[Warning] = []
    for office in settings.offices.values():
        if not office.explicit_term:
            continue
        unit = "working" if office.working_days else "calendar"
        results.append((
            f"office {office.id}",
            f"response_days = {office.response_days} is set, so its cases have that term "
            f"({office.response_days} {unit} days) instead of the {requests.profile} profile's "
            f"({theirs} working days); leave response_days out to use the profile's terms",
        ))  # fmt: skip
    return results


def _check_spam(settings: Settings) -> list[Check]:
    from mailbot.ingest import spam

    honoured = ", ".join(settings.spam.filters) or "no filter's headers"
    hosts = ", ".join(settings.spam.trusted_hosts) or "none set: the topmost header decides"
    results = [(True, "spam", f"honouring {honoured}; trusted hosts: {hosts}")]
    if settings.spam.rspamd_url:
        try:
            results.append((True, "rspamd", spam.ping_rspamd(settings.spam)))
        except MailbotError as exc:
            results.append((False, "rspamd", str(exc)))
    return results


def _check_database(settings: Settings) -> Check:
    shown = make_url(settings.database.url).render_as_string(hide_password=True)
    try:
        engine = db.make_engine(settings.database.url)
        current, head = db.current_revision(engine), db.head_revision(engine)
    except Exception as exc:
        return False, "database", f"{shown}: {str(exc).splitlines()[0]}"
    if current != head:
        return (
            False,
            "database",
            f"{shown}: schema at {current or 'nothing'}, run `mailbot db upgrade`",
        )
    return True, "database", f"{shown} (schema {current})"


def _check_templates(settings: Settings) -> Check:
    from mailbot.replies.compose import Composer
    from mailbot.replies.render import templates_root

    try:
        failures = template_failures(Composer(settings, b"check" * 8))
    except MailbotError as exc:
        return False, "templates", str(exc)
    if failures:
        return False, "templates", "; ".join(failures)
    return True, "templates", f"{templates_root(settings)}: every message renders (it, en)"


def _check_openssl() -> Check:
    import shutil

    found = shutil.which("openssl")
    if found is None:
        return (
            False,
            "openssl",
            "not installed: PEC signatures would stay unchecked (apt-get install openssl)",
        )
    return True, "openssl", f"{found} (PEC signature checks)"


def _check_storage(settings: Settings) -> Check:
    import stat

    root = settings.storage.path
    try:
        Store(root).ensure()
    except MailbotError as exc:
        return False, "storage", str(exc)
    # Originals are evidence and personal data: nobody but mailbot's user may read them.
    for path in (root, root / "objects", root / "secret.key"):
        if not path.exists():
            continue
        info = path.stat()
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            return (
                False,
                "storage",
                f"{path} is open to other users (mode {mode:04o}): chmod go-rwx {path}",
            )
        if info.st_uid != os.geteuid():
            return False, "storage", f"{path} belongs to uid {info.st_uid}, not to this user"
    return True, "storage", f"{root} writable, private to this user"


def _check_oauth(settings: Settings) -> list[Check]:
    """Every OAuth2 sign-in: a token is fetched now (the logins below use their own)."""
    from mailbot.net.oauth import TokenSource

    accounts = [m.oauth for m in settings.mailboxes if m.source == "imap"]
    accounts += [settings.smtp.oauth, *(m.smtp.oauth for m in settings.mailboxes if m.smtp)]
    results: list[Check] = []
    for oauth in accounts:
        if oauth is None:
            continue
        what = f"oauth2 {oauth.key}"
        try:
            TokenSource(oauth).token()
        except MailbotError as exc:
            results.append((False, what, str(exc)))
            continue
        results.append((True, what, f"token obtained from {oauth.token_url} ({oauth.flow})"))
    return results


def _check_pec(settings: Settings) -> list[Check]:
    """PEC boxes: their own account for outbound (checked with the outbox below) and the
    providers' CA bundle the receipts' signatures are checked against."""
    import ssl

    results: list[Check] = []
    pec_boxes = [m for m in settings.mailboxes if m.pec]
    for m in pec_boxes:
        assert m.smtp is not None  # the config refuses pec = true without it
        results.append(
            (True, f"pec {m.name}", f"sends from {m.smtp.from_address} via {m.smtp.host}")
        )
    bundle = settings.pec.ca_bundle
    if bundle is not None:
        try:
            context = ssl.create_default_context(cafile=str(bundle))
        except (ssl.SSLError, OSError) as exc:
            results.append((False, "pec.ca_bundle", f"{bundle}: not a PEM bundle ({exc})"))
        else:
            count = context.cert_store_stats()["x509_ca"]
            results.append((count > 0, "pec.ca_bundle", f"{bundle}: {count} CA certificate(s)"))
    elif pec_boxes:
        results.append((True, "pec.ca_bundle", "not set: signatures checked, provider chains not"))
    return results


async def _check_outbox(settings: Settings) -> list[Check]:
    """Every outbound account: [smtp], and each mailbox's own (a PEC box's) account."""
    from mailbot.replies.sender import make_transport

    router = make_transport(settings)
    results: list[Check] = []
    for account, transport in router.transports.items():
        what = "smtp" if settings.outbox.transport == "smtp" else "outbox directory"
        if account:
            what = f"mailbox {account} smtp (its own account)"
        try:
            await transport.open()
        except (MailbotError, OSError) as exc:
            results.append((False, what, str(exc)))
            continue
        finally:
            await transport.close()
        if settings.outbox.transport == "smtp":
            s = settings.mailbox(account).smtp if account else settings.smtp
            assert s is not None
            login = f", login accepted for {s.username}" if s.username else ""
            results.append((True, what, f"{s.host}:{s.port} ({s.security}) reachable{login}"))
        else:
            results.append((True, what, f"{settings.outbox.directory} writable"))
    return results
