"""TLS contexts: certificates always verified, against a private CA when one is given."""

from __future__ import annotations

import ssl
from pathlib import Path

from mailbot.errors import ConfigError


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates are always verified: against `ca_file` when given (a private CA), else
    against the system's store."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"ca_file: cannot load {ca_file}: {exc}") from None
    return context
