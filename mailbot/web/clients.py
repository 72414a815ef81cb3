"""Who the client is: the peer's address, or, when the peer is one of `[web] trusted_proxies`,
the rightmost address of X-Forwarded-For that is not a trusted proxy (a client can write any
X-Forwarded-For it likes; only the hops our proxies appended are believed). `BehindProxies` is
the WSGI middleware that puts that address in REMOTE_ADDR, and the scheme and host the proxy
was asked for in the environment, for trusted peers only; any other peer's forwarding headers
are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str, trusted: tuple[Network, ...]) -> str:
    """The client behind `peer`: the rightmost untrusted hop of X-Forwarded-For, if `peer` is a
    trusted proxy. A hop that is not an address ends the walk at the proxy that wrote it."""
    client = peer
    if not is_trusted(peer, trusted):
        return client
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop.strip("[]"))
        except ValueError:
            return client
        client = hop.strip("[]")
        if not is_trusted(client, trusted):
            return client
    return client


class BehindProxies:
    """The client's address, scheme and host as the trusted proxy in front saw them."""

    def __init__(self, app: Any, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        if self.trusted and is_trusted(peer, self.trusted):
            environ["REMOTE_ADDR"] = client_address(
                peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
            proto = _last(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            host = _last(environ.get("HTTP_X_FORWARDED_HOST", ""))
            if host:
                environ["HTTP_HOST"] = host
        return self.app(environ, start_response)


def _last(header: str) -> str:
    """The value the nearest proxy wrote (the rightmost)."""
    return header.rsplit(",", 1)[-1].strip()
