"""One-time sign-in links: what the sign-in pages (signin.py) and `mailbot backoffice link` do
with the `staff_sign_in` table. A link holds a random token; the table keeps only its SHA-256,
the member's address, the page asked for and when the link expires. A link is good once
(`redeem` marks it used in the same UPDATE that checks it, so two posts of one link open one
session) and for `[backoffice] link_minutes`. At most `LINKS_PER_HOUR` links are mailed to one
address in an hour: the sign-in form cannot be used to flood someone's mailbox.

The sign-in form answers the same whether or not the address is a member's (nobody learns who
works there from it); only a member gets a link, and only by mail.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from mailbot.backoffice import sessions
from mailbot.cases import staff
from mailbot.db import record_event, unit_of_work
from mailbot.log import get_logger, mask_address
from mailbot.models import StaffSignIn, utcnow
from mailbot.replies import outbox
from mailbot.services import Services

log = get_logger(__name__)

LINKS_PER_HOUR = 5  # mailed to one address; `mailbot backoffice link` is not limited
_WINDOW = timedelta(hours=1)
_TOKEN_MAX = 100  # longer is no token of ours: not even hashed
VALID, USED, EXPIRED, UNKNOWN = "valid", "used", "expired", "unknown"


def local_path(value: str | None) -> str:
    """`value` when it is a path of this site ("/pratiche/2026-000001?x=1"), else "/": never
    another site ("//evil.example", "https://…", "/\\evil.example"), never a control character
    (browsers drop tabs and newlines: "/\\t/evil.example" is "//evil.example" to them)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or len(value) > 200
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        return "/"
    return value


def url(services: Services, token: str) -> str:
    return f"{services.settings.backoffice.public_url}/accesso/{token}"


def issue(services: Services, address: str, next_path: str = "/") -> str | None:
    """A fresh link for the member at `address` (not mailed, not limited: the admin's
    `mailbot backoffice link`); None when the address is no member's."""
    with unit_of_work(services.engine) as db:
        return _new(services, db, address, next_path)


def mail_link(services: Services, address: str, next_path: str = "/") -> bool:
    """The sign-in form: a link queued by mail to the member at `address`. False (and nothing
    written) for an address no member has, or one that had `LINKS_PER_HOUR` links this hour."""
    address = address.strip().lower()
    now = utcnow()
    with unit_of_work(services.engine) as db:
        recent = db.exec(
            select(sa.func.count())
            .select_from(StaffSignIn)
            .where(StaffSignIn.address == address, col(StaffSignIn.created_at) > now - _WINDOW)
        ).one()
        if recent >= LINKS_PER_HOUR:
            log.warning("sign-in link not sent: too many this hour", staff=mask_address(address))
            return False
        token = _new(services, db, address, next_path)
        if token is None:
            return False
        settings = services.settings
        composed = services.composer.sign_in(
            language=settings.language if settings.language in ("it", "en") else "it",
            to=address,
            link=url(services, token),
            minutes=settings.backoffice.link_minutes,
        )
        outbox.enqueue(db, composed, kind="sign_in", work_order_id=None)
        record_event(db, "backoffice.link_sent", actor=address)
    log.info("sign-in link queued", staff=mask_address(address))
    return True


def _new(services: Services, db: Session, address: str, next_path: str) -> str | None:
    address = address.strip().lower()
    if staff.directory(services, db).member(address) is None:
        return None
    token = secrets.token_urlsafe(32)
    minutes = services.settings.backoffice.link_minutes
    db.add(
        StaffSignIn(
            token_hash=sessions.digest(token),
            address=address,
            next_path=local_path(next_path),
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
    )
    return token


def state(services: Services, token: str) -> str:
    """What the link is, without using it: VALID, USED, EXPIRED or UNKNOWN."""
    if not token or len(token) > _TOKEN_MAX:
        return UNKNOWN
    with unit_of_work(services.engine) as db:
        row = db.exec(
            select(StaffSignIn).where(StaffSignIn.token_hash == sessions.digest(token))
        ).first()
        if row is None:
            return UNKNOWN
        if row.used_at is not None:
            return USED
        return EXPIRED if row.expires_at <= utcnow() else VALID


def redeem(services: Services, token: str) -> tuple[str, str] | str:
    """Uses the link: (address, page asked for), or why not (USED, EXPIRED, UNKNOWN). The check
    and the marking are one UPDATE, so of two posts of one link only one gets through."""
    if not token or len(token) > _TOKEN_MAX:
        return UNKNOWN
    now = utcnow()
    digest = sessions.digest(token)
    with unit_of_work(services.engine) as db:
        marked = db.execute(
            sa.update(StaffSignIn)
            .where(
                col(StaffSignIn.token_hash) == digest,
                col(StaffSignIn.used_at).is_(None),
                col(StaffSignIn.expires_at) > now,
            )
            .values(used_at=now)
        )
        row = db.exec(select(StaffSignIn).where(StaffSignIn.token_hash == digest)).first()
        if row is None:
            return UNKNOWN
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            return USED if row.used_at is not None else EXPIRED
        if staff.directory(services, db).member(row.address) is None:  # left meanwhile
            return UNKNOWN
        return row.address, local_path(row.next_path)


def start_session(services: Services, address: str, via: str) -> str:
    """A new session for a member who proved the address (`via` "link" or "oidc"), recorded in
    the audit trail under the member's address; its token."""
    token = sessions.open_session(services, address, via)
    with unit_of_work(services.engine) as db:
        record_event(db, "backoffice.signed_in", actor=address.strip().lower(), via=via)
    return token
