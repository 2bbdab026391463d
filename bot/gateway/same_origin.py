"""The console's and dashboard's guard against cross-site requests: every state-changing request (POST, PUT,
PATCH, DELETE, and the console socket's upgrade) must come from the gateway's own origin or one listed in
`console.allowed_origins`, judged by Origin, else Referer. A request with neither is not a browser's (every
browser sends Origin on a cross-site POST and on every WebSocket upgrade), so it cannot be a forged
cross-site request and passes: scripts and API clients keep working. The SameSite=Strict cookie stays as a
second layer. Registered on the console and dashboard sub-apps (console_api.py, dashboard_api.py)."""

from __future__ import annotations

import json
from typing import Awaitable, Callable, Optional
from urllib.parse import urlsplit

from aiohttp import web

from bot.gateway.forwarded import browser_origin
from bot.gateway.keys import CONSOLE_SETTINGS
from bot.gateway.request_limits import trusted_proxies

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _origin_of(request: web.Request) -> Optional[str]:
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/")
    referer = request.headers.get("Referer")
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
    return None


def _refused(message: str) -> web.Response:
    return web.json_response({"error": "cross_origin", "message": message}, status=403,
                             dumps=lambda body: json.dumps(body, ensure_ascii=False))


@web.middleware
async def same_origin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """403 {"error": "cross_origin"} for a state-changing request from another site."""
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method not in STATE_CHANGING and not upgrade:
        return await handler(request)
    origin = _origin_of(request)
    if origin is None:
        return await handler(request)
    trusted = trusted_proxies(request)
    allowed = {browser_origin(request, trusted), *request.config_dict[CONSOLE_SETTINGS].allowed_origins}
    if origin not in allowed:
        return _refused(f"来源 {ascii(origin[:100])} 不是本站，已拒绝；"
                        "其他来源须列入 settings.yml 的 console.allowed_origins")
    return await handler(request)
