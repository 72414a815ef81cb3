"""The transports a message goes out by: SMTP (the only importer of aiosmtplib; one kept-open
connection, STARTTLS/TLS, password or XOAUTH2 login) or a directory of .eml files (the demo, a
machine with no relay), and the router that picks each row's account. Failures are raised as
errors.py's delivery errors; what they do to a row is `delivery`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Protocol

import aiosmtplib

from mailbot.config import Settings, SmtpSettings
from mailbot.errors import (
    DeliveryDeferredError,
    DeliveryRefusedError,
    MailbotError,
    RelayUnavailableError,
)
from mailbot.log import get_logger
from mailbot.net.oauth import TokenSource
from mailbot.net.tls import tls_context
from mailbot.replies import smtp_fast

log = get_logger(__name__)


class Transport(Protocol):
    async def open(self) -> None: ...
    async def send(self, envelope_from: str, recipients: list[str], raw: bytes) -> None: ...
    async def close(self) -> None: ...


class SmtpTransport:
    def __init__(self, settings: SmtpSettings) -> None:
        smtp_fast.install()  # the same bytes on the wire, without two passes a line
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
