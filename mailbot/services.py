"""The services a message's processing needs, built once by the entry point and passed down."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from mailbot import charter
from mailbot.config import Settings
from mailbot.ingest import classify
from mailbot.replies.compose import Composer
from mailbot.storage import Store


@dataclass(frozen=True)
class Services:
    """Everything a stage needs, built once by the entry point and passed explicitly."""

    settings: Settings
    engine: Engine
    store: Store
    composer: Composer
    classify_context: classify.Context
    secret: bytes  # signs and verifies our Message-IDs
    clock: charter.Clock  # the service charter's calendar and the local time zone


def build_services(settings: Settings, engine: Engine, store: Store, secret: bytes) -> Services:
    own = {settings.smtp.from_address, *(m.address for m in settings.mailboxes)}
    return Services(
        settings=settings,
        engine=engine,
        store=store,
        composer=Composer(settings, secret),
        classify_context=classify.Context(own_addresses=frozenset(own)),
        secret=secret,
        clock=charter.Clock(
            charter.Calendar(
                settings.charter.local_holidays, settings.charter.saturday_is_working_day
            ),
            settings.timezone,
        ),
    )
