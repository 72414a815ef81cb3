"""The online desk's rate limits, kept in the database (table web_hit) so that every instance
and process serving the form shares them and a restart forgets none.

Two limits per client address (web/clients.py says who the client is):
- `[web] attempt_limit`: every POST, filed or refused (a wrong token, a form sent back, a
  limit reached), counted before the request's body is looked at, so a flood of refused
  forms is refused cheaply;
- `[web] rate_limit`: submissions filed. The slot is taken before filing, atomically with the
  check (so 20 concurrent submissions against a limit of 5 file 5), and given back when the
  submission is not filed after all.

Check-and-count is one transaction: on SQLite every write transaction begins IMMEDIATE (one
writer at a time); on PostgreSQL a transaction-scoped advisory lock on the key serialises the
hits of one client.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, g, request
from sqlalchemy.engine import Engine
from sqlmodel import col, delete, func, select

from mailbot.db import unit_of_work
from mailbot.models import WebHit, utcnow
from mailbot.services import Services

View = TypeVar("View", bound=Callable[..., Any])

_RATE = re.compile(r"(\d+)\s*(?:/|per)\s*(\d+)?\s*(second|minute|hour|day)s?", re.IGNORECASE)
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SWEEP_EVERY = 100


def parse_rate(text: str) -> tuple[int, timedelta]:
    """'5 per hour', '10/minute', '3 per 2 hours' → (allowed, window)."""
    found = _RATE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"not a rate: {text!r}")
    count = int(found.group(2) or 1)
    return int(found.group(1)), timedelta(seconds=count * _SECONDS[found.group(3).lower()])


def take(
    engine: Engine,
    key: str,
    rate: str,
    now: datetime | None = None,
    horizon: timedelta | None = None,
) -> int | None:
    """Count one hit of `key` if it has had fewer than the rate allows in its window: the hit's
    id (to `give_back`), or None when the limit is reached (nothing counted). Every
    `_SWEEP_EVERY`th hit also removes every key's hits older than `horizon` (the longest
    window in force), so clients that never come back leave nothing behind."""
    allowed, window = parse_rate(rate)
    now = now or utcnow()
    with unit_of_work(engine) as session:
        if engine.dialect.name == "postgresql":
            session.connection().execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key}
            )
        session.exec(delete(WebHit).where(col(WebHit.key) == key, col(WebHit.at) <= now - window))
        seen = session.exec(
            select(func.count()).select_from(WebHit).where(col(WebHit.key) == key)
        ).one()
        if seen >= allowed:
            return None
        hit = WebHit(key=key, at=now)
        session.add(hit)
        session.flush()
        if horizon is not None and hit.id is not None and hit.id % _SWEEP_EVERY == 0:
            session.exec(delete(WebHit).where(col(WebHit.at) <= now - horizon))
        return hit.id


def give_back(engine: Engine, hit: int) -> None:
    with unit_of_work(engine) as session:
        session.exec(delete(WebHit).where(col(WebHit.id) == hit))


def install(app: Flask, current: Callable[[], Services]) -> Callable[[View], View]:
    """Counts every POST against `attempt_limit` (register before anything that reads the
    form); returns the decorator for a view that files, which takes a `rate_limit` slot and
    keeps it only when the view sets `g.filed`."""

    @app.before_request
    def count_attempt() -> None:
        if request.method != "POST":
            return
        services = current()
        web = services.settings.web
        horizon = max(parse_rate(web.attempt_limit)[1], parse_rate(web.rate_limit)[1])
        key = f"attempt {request.remote_addr}"
        if take(services.engine, key, web.attempt_limit, horizon=horizon) is None:
            abort(429)

    def filing(view: View) -> View:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            if request.method != "POST":
                return view(*args, **kwargs)
            services = current()
            key = f"filed {request.remote_addr}"
            hit = take(services.engine, key, services.settings.web.rate_limit)
            if hit is None:
                abort(429)
            try:
                return view(*args, **kwargs)
            finally:
                if not g.get("filed"):
                    give_back(services.engine, hit)

        return limited  # type: ignore[return-value]

    return filing
