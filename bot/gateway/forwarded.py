"""Whether the browser came over HTTPS, believing X-Forwarded-Proto only from `gateway.trusted_proxies` (the
scaled setup's nginx sets it); the client address behind a proxy is address_limits.client_address."""

from __future__ import annotations

import ipaddress
from typing import Sequence

from aiohttp import web

from bot.gateway.address_limits import Network


def _from_trusted_proxy(request: web.BaseRequest, trusted: Sequence[Network]) -> bool:
    try:
        peer = ipaddress.ip_address((request.remote or "").strip("[]"))
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in network for network in trusted)


def is_https(request: web.BaseRequest, trusted: Sequence[Network]) -> bool:
    """True when the browser reached the gateway over HTTPS: on this connection, or through a trusted proxy
    that says so in X-Forwarded-Proto."""
    if request.secure:
        return True
    if not _from_trusted_proxy(request, trusted):
        return False
    return request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"


def browser_origin(request: web.BaseRequest, trusted: Sequence[Network]) -> str:
    """scheme://host[:port] as the browser addressed the gateway (the Host header; nginx passes it on)."""
    return f"{'https' if is_https(request, trusted) else 'http'}://{request.host}"
