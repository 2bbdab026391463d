"""Which web pages may open a customer connection: the gateway's own origin plus the configured shop sites."""

from __future__ import annotations

from typing import Iterable, Optional

from aiohttp import web


def own_origin(request: web.Request) -> str:
    """scheme://host[:port] as the browser addressed the gateway."""
    return f"{request.scheme}://{request.host}"


def origin_allowed(request: web.Request, allowed: Iterable[str]) -> bool:
    """True for no Origin header (not a browser), the gateway's own origin, or a configured one."""
    origin: Optional[str] = request.headers.get("Origin")
    if not origin:
        return True
    origin = origin.rstrip("/")
    allowed = set(allowed)
    return origin == own_origin(request) or origin in allowed or "*" in allowed
