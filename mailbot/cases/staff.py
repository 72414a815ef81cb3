"""Who on the institution's side a sender is: the configured members (`Settings.directory`)
and those an admin added with `mailbot staff add|import` (the `staff_member` table). The role
table is `mailbot/roles.py`; the flows ask here, never the settings' `operators` directly.
"""

from __future__ import annotations

from sqlmodel import Session

from mailbot.roles import Directory, Member
from mailbot.services import Services


def directory(services: Services, session: Session) -> Directory:
    """Everyone: the configuration's members first, then the database's."""
    return services.settings.directory.with_members(stored_members(session))


def stored_members(session: Session) -> tuple[Member, ...]:
    """The members kept in the database (`mailbot staff add|import`)."""
    return ()  # the staff_member table arrives with migration 0018 (issue 29, part A)
