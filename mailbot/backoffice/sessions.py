"""Signed-in sessions of the back office, kept in the database (staff_session) so that every
instance behind a balancer knows them: the browser's cookie holds a random token, the table
only its SHA-256. A session ends at sign-out, `[backoffice] session_hours` after sign-in, after
`idle_minutes` unused, and at once when its member leaves the staff directory."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import select

from mailbot.cases import staff
from mailbot.db import unit_of_work
from mailbot.log import get_logger, mask_address
from mailbot.models import StaffSession, utcnow
from mailbot.roles import Member
from mailbot.services import Services

log = get_logger(__name__)
_TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(services: Services, address: str, via: str) -> str:
    """A new session for the member at `address` (the caller checked it is one); its token."""
    token = secrets.token_urlsafe(32)
    hours = services.settings.backoffice.session_hours
    with unit_of_work(services.engine) as db:
        db.add(
            StaffSession(
                token_hash=digest(token),
                address=address.strip().lower(),
                via=via,
                expires_at=utcnow() + timedelta(hours=hours),
            )
        )
    log.info("back office session opened", staff=mask_address(address), via=via)
    return token


def member_for(services: Services, token: str) -> Member | None:
    """The member whose live session `token` is, or None (no such session, ended, expired,
    idle too long, or the member no longer in the directory)."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    idle = timedelta(minutes=services.settings.backoffice.idle_minutes)
    with unit_of_work(services.engine) as db:
        row = db.exec(select(StaffSession).where(StaffSession.token_hash == digest(token))).first()
        if row is None or row.ended_at is not None:
            return None
        if row.expires_at <= now or row.last_seen_at + idle <= now:
            row.ended_at = now
            return None
        member = staff.directory(services, db).member(row.address)
        if member is None:
            row.ended_at = now
            return None
        if now - row.last_seen_at >= _TOUCH_EVERY:
            row.last_seen_at = now
        return member


def end_session(services: Services, token: str) -> None:
    with unit_of_work(services.engine) as db:
        row = db.exec(select(StaffSession).where(StaffSession.token_hash == digest(token))).first()
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
