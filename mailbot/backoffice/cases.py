"""The back office's cases pages (placeholder: filled in by issue 30's work)."""

from __future__ import annotations

from flask import Flask

from mailbot.backoffice.context import Office


def install(app: Flask, office: Office) -> None:
    """Adds this part's routes to `app`."""
