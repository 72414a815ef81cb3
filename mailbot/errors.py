"""Typed errors, and the one table that maps an error to what happens to the message in hand.

Entry points map `MailbotError` to an exit code; the pipeline (a message read) and the sender
(a message sent) map any exception raised about one message to a `Disposition` with
`disposition_for`. Nothing else decides that.
"""

from __future__ import annotations

from enum import StrEnum


class MailbotError(Exception):
    """An error with a message fit for an admin; the CLI prints it without a traceback."""

    exit_code = 1


class ConfigError(MailbotError):
    """The configuration is missing, unreadable or wrong; the message names the key."""

    exit_code = 2


class NotFoundError(MailbotError):
    """A thing named on the command line does not exist."""

    exit_code = 1


class InputError(MailbotError):
    """A file or argument given by the admin cannot be used."""

    exit_code = 2


class ForbiddenError(MailbotError):
    """The member may see the case but not do this to it (the role table, cases/access.py)."""

    exit_code = 2


class MailError(MailbotError):
    """A permanent problem with one message: it is rejected with this reason and kept."""


class TransientError(MailbotError):
    """An outage (IMAP, database, SMTP): roll back, back off, try again without advancing."""

    exit_code = 75  # EX_TEMPFAIL


class SourceUnavailableError(TransientError):
    """The mailbox cannot be reached or refused our credentials."""


class DatabaseUnavailableError(TransientError):
    """The database refused a connection or is locked for too long."""


class StorageUnavailableError(TransientError):
    """The message store cannot be written (disk full, read-only, permissions)."""


class RelayUnavailableError(TransientError):
    """The SMTP relay (or the outbox directory) cannot be reached or refused our login: every
    message of that account waits, no attempt counted."""


class DeliveryError(MailbotError):
    """The relay did not take one message."""


class DeliveryDeferredError(DeliveryError):
    """A 4xx for this message: try it again later, the attempt counted."""


class DeliveryRefusedError(DeliveryError, MailError):
    """A 5xx for this message (every recipient refused): it failed for good."""


class Disposition(StrEnum):
    """What the pipeline does with a message whose processing raised."""

    REJECT = "rejected"  # permanent mail problem: keep bytes and reason, advance
    QUARANTINE = "quarantined"  # unexpected error: keep bytes and traceback digest, advance
    RETRY = "retry"  # outage: roll back, do not advance, back off
    DEFER = "deferred"  # a message we send: the relay said later; back off, attempt counted


# First match wins; anything unlisted is unexpected and quarantined.
DISPOSITIONS: tuple[tuple[type[BaseException], Disposition], ...] = (
    (TransientError, Disposition.RETRY),
    (MailError, Disposition.REJECT),
    (DeliveryDeferredError, Disposition.DEFER),
)


def disposition_for(exc: BaseException) -> Disposition:
    for kind, disposition in DISPOSITIONS:
        if isinstance(exc, kind):
            return disposition
    return Disposition.QUARANTINE
