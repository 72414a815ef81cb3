"""Draining the outbox: the only importer of aiosmtplib.

Rows are claimed (leased) in one short transaction, sent over one kept-open SMTP connection,
and marked in another: no database lock is held while the network is slow. What a failure does
is errors.py's table, as for mail read: a relay out of reach (RETRY) leaves its account's rows
waiting, no attempt counted; a 4xx (DEFER) retries the row with backoff; a 5xx (REJECT) fails
it. The stored bytes, and so the stored Message-ID, are sent as they are: a resend after a
crash is recognisably the same mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import aiosmtplib
from sqlalchemy.engine import Engine

from mailbot.config import Settings, SmtpSettings
from mailbot.db import unit_of_work
from mailbot.errors import (
    DeliveryDeferredError,
    DeliveryError,
    DeliveryRefusedError,
    Disposition,
    MailbotError,
    RelayUnavailableError,
    disposition_for,
)
from mailbot.log import get_logger
from mailbot.models import OutboundMessage, utcnow
from mailbot.net.oauth import TokenSource
from mailbot.net.tls import tls_context
from mailbot.replies import outbox

log = get_logger(__name__)


class Transport(Protocol):
    async def open(self) -> None: ...
    async def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None: ...
    async def close(self) -> None: ...


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: aiosmtplib.SMTP | None = None
        self.tokens = TokenSource(settings.oauth) if settings.oauth is not None else None

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        s = self.settings
        if self.tokens is None:
            await client.login(s.username, s.password.reveal())
            return
        tokens = self.tokens
        try:
            await client.auth_xoauth2(s.username, await asyncio.to_thread(tokens.token))
        except aiosmtplib.SMTPAuthenticationError:  # expired early or revoked: once more
            tokens.invalidate()
            await client.auth_xoauth2(s.username, await asyncio.to_thread(tokens.token))

    async def open(self) -> None:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=tls_context(s.ca_file) if s.security != "none" else None,
            timeout=s.timeout,
        )
        try:
            await client.connect()
            if s.username:
                await self._login(client)
        except MailbotError as exc:  # no token: the endpoint is down or refused the client
            await _quit_quietly(client)
            raise RelayUnavailableError(
                f"SMTP sign-in for {s.username}@{s.host}:{s.port}: {exc}"
            ) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise RelayUnavailableError(
                f"SMTP login refused for {s.username}@{s.host}:{s.port}: {exc.code} {exc.message}"
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise RelayUnavailableError(f"cannot connect to SMTP {s.host}:{s.port}: {exc}") from exc
        self.client = client

    async def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        if self.client is None or not self.client.is_connected:
            await self.open()
        assert self.client is not None
        try:
            await self.client.sendmail(envelope_from, recipients, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            refused = all(c >= 500 for c in codes)
            raise (DeliveryRefusedError if refused else DeliveryDeferredError)(text) from exc
        except aiosmtplib.SMTPResponseException as exc:
            kind = DeliveryRefusedError if exc.code >= 500 else DeliveryDeferredError
            raise kind(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise RelayUnavailableError(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        if self.client is not None:
            try:
                if self.client.is_connected:
                    await self.client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()
            self.client = None


class DirectoryTransport:
    """Writes each message as an .eml file: for the demo and for machines with no relay."""

    def __init__(self, directory: Path, account: str = "") -> None:
        self.directory = directory
        self.account = account

    async def open(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RelayUnavailableError(
                f"outbox.directory: cannot create {self.directory}: {exc.strerror}"
            ) from exc

    async def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None:
        await self.open()
        envelope = f"X-Envelope-From: {envelope_from}\r\nX-Envelope-To: {', '.join(recipients)}\r\n"
        if self.account:
            envelope += f"X-Envelope-Account: {self.account}\r\n"
        try:
            (self.directory / f"{time.time_ns()}.eml").write_bytes(envelope.encode() + raw)
        except OSError as exc:
            text = f"cannot write to {self.directory}: {exc.strerror}"
            raise RelayUnavailableError(text) from exc

    async def close(self) -> None:
        return None


async def _quit_quietly(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()


class Router:
    """One transport per outbound account: "" is [smtp]; a mailbox with its own [mailboxes.smtp]
    (a PEC box) sends its cases' mail to citizens through its account. Connections open lazily."""

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports
        self._warned: set[str] = set()

    def route(self, account: str) -> str:
        if account in self.transports:
            return account
        if account not in self._warned:  # the mailbox lost its account in the config
            self._warned.add(account)
            log.warning("outbound account not configured, using [smtp]", account=account)
        return ""

    def get(self, account: str) -> Transport:
        return self.transports[self.route(account)]

    async def open(self) -> None:
        for transport in self.transports.values():
            await transport.open()

    async def close(self) -> None:
        for transport in self.transports.values():
            await transport.close()


def make_transport(settings: Settings) -> Router:
    if settings.outbox.transport == "directory":
        return Router(
            {
                "": DirectoryTransport(settings.outbox.directory),
                **{
                    m.name: DirectoryTransport(settings.outbox.directory, m.name)
                    for m in settings.mailboxes
                    if m.smtp is not None
                },
            }
        )
    return Router(
        {
            "": SmtpTransport(settings.smtp),
            **{m.name: SmtpTransport(m.smtp) for m in settings.mailboxes if m.smtp is not None},
        }
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """A server could not be reached and nothing went out: more sending now is pointless."""
        return bool(self.errors) and not self.sent


async def deliver_pending(engine: Engine, settings: Settings, router: Router) -> DeliveryReport:
    """Send every row due now; returns when none is left. An account whose server cannot be
    reached is left alone for this pass (its rows wait, no attempt counted); the others go on."""
    report = DeliveryReport()
    tried: set[int] = set()
    down: dict[str, str] = {}  # account → why it cannot be reached
    lease = timedelta(seconds=settings.outbox.lease_seconds)
    while len(down) < len(router.transports):
        with unit_of_work(engine) as session:
            rows = outbox.claim_due(session, utcnow(), settings.outbox.batch_size, lease, tried)
        tried.update(row.id for row in rows if row.id is not None)
        if not rows:
            return report
        started = time.monotonic()
        held: dict[str, list[OutboundMessage]] = {}  # rows of accounts already down
        for index, row in enumerate(rows):
            if time.monotonic() - started > lease.total_seconds() / 2:
                # Half the lease gone: give the rest back before it expires under us, and take
                # them again in this same pass (they were not tried).
                _release(engine, settings, rows[index:], delay=0.0)
                tried.difference_update(r.id for r in rows[index:] if r.id is not None)
                break
            account = router.route(row.account)
            if account in down:
                held.setdefault(account, []).append(row)
                continue
            try:
                await router.get(account).send(
                    row.envelope_from, row.recipients.split(", "), row.raw
                )
            except (DeliveryError, RelayUnavailableError) as exc:
                if disposition_for(exc) is Disposition.RETRY:
                    # An outage is not the message's fault: no attempt counted, its account's
                    # rows wait; other accounts go on.
                    down[account] = str(exc)
                    report.errors.append(str(exc))
                    held.setdefault(account, []).append(row)
                    log.warning("smtp unavailable", account=account or "smtp", error=str(exc))
                    continue
                _settle_failure(engine, settings, row, exc, report)
                continue
            with unit_of_work(engine) as session:
                fresh = session.get(OutboundMessage, row.id)
                assert fresh is not None
                outbox.mark_sent(session, fresh)
            report.sent += 1
            log.info("outbound sent", **_about(row))
        for account, waiting in held.items():
            _release(engine, settings, waiting, settings.outbox.retry_base_seconds, down[account])
    return report


def _settle_failure(
    engine: Engine,
    settings: Settings,
    row: OutboundMessage,
    exc: MailbotError,
    report: DeliveryReport,
) -> None:
    with unit_of_work(engine) as session:
        fresh = session.get(OutboundMessage, row.id)
        assert fresh is not None
        if disposition_for(exc) is Disposition.REJECT:
            outbox.mark_failed(session, fresh, str(exc))
            report.failed += 1
            log.warning("outbound failed", **_about(row), error=str(exc))
        else:
            outbox.mark_retry(session, fresh, str(exc), settings.outbox)
            report.retried += 1
            log.info("outbound deferred", **_about(row), error=str(exc))


def _about(row: OutboundMessage) -> dict[str, object]:
    return {
        "outbound_id": row.id,
        "kind": row.kind,
        "message_id": row.message_id,
        "work_order_id": row.work_order_id,
    }


def _release(
    engine: Engine, settings: Settings, rows: list[OutboundMessage], delay: float, error: str = ""
) -> None:
    if not rows:
        return
    when = utcnow() + timedelta(seconds=delay)
    with unit_of_work(engine) as session:
        for row in rows:
            assert row.id is not None
            outbox.release(session, row.id, when, settings.outbox, error)
