"""The abuse limits as the request handlers use them (address_limits.py holds the limits themselves).

`client_address(request)` is who a request counts against; `refuse_login_flood(request)` is the one line a
login handler starts with.
"""

from __future__ import annotations

from typing import Sequence

from aiohttp import web

from bot.gateway.address_limits import LOGIN_TEXT, Network, too_many_requests
from bot.gateway.keys import ADDRESS_LIMITS


def client_address(request: web.BaseRequest) -> str:
    """The client address the limits count for `request` (behind trusted proxies, the forwarded one)."""
    return request.config_dict[ADDRESS_LIMITS].address_of(request)


def trusted_proxies(request: web.BaseRequest) -> Sequence[Network]:
    """`gateway.trusted_proxies`, parsed once when the gateway was built."""
    return request.config_dict[ADDRESS_LIMITS].trusted


async def refuse_login_flood(request: web.Request) -> None:
    """Raises 429 {"error": "too_many_attempts", "message", "retry_after"} with Retry-After when the request's
    address has tried to log in too often (`gateway.address_logins_*`); otherwise counts this attempt.
    Call it first thing in a login handler: `await refuse_login_flood(request)`."""
    limits = request.config_dict[ADDRESS_LIMITS]
    wait = await limits.login(limits.address_of(request))
    if wait:
        raise too_many_requests("too_many_attempts", LOGIN_TEXT.format(seconds=wait), wait)
