"""The HTTP fallback of the customer channel (`/chat/api/...`) for browsers that cannot keep a WebSocket.

The same frames as the socket, over POST and a long-polling GET.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from aiohttp import web

from bot.gateway.keys import CONFIG, HUB, SERVICE
from bot.gateway.origins import origin_allowed
from bot.gateway.protocol import CONTROL_TYPES, TEXTS, ProtocolError, parse_hello, parse_message

LONG_POLL_LIMIT_SECONDS = 25
ERROR_STATUS = {"rate_limited": 429, "too_long": 413, "unknown_session": 404, "no_ticket": 409}


def _json(body: Dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def _error(error: ProtocolError) -> web.Response:
    return _json(error.to_frame(), ERROR_STATUS.get(error.code, 400))


async def _body(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("invalid_json") from None
    if not isinstance(body, dict):
        raise ProtocolError("invalid_json")
    return body


def _session_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError("unknown_session")
    return value


@web.middleware
async def cross_origin(request: web.Request, handler: Any) -> web.StreamResponse:
    """CORS for the HTTP API: allowed shop origins may call it, others are refused."""
    if not request.path.startswith("/chat/api/"):
        return await handler(request)

    allowed = request.config_dict[CONFIG].allowed_origins
    origin: Optional[str] = request.headers.get("Origin")
    if not origin_allowed(request, allowed):
        return _json({"type": "error", "code": "bad_origin", "text": TEXTS["bad_origin"]}, 403)
    response = await handler(request)
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response


async def preflight(request: web.Request) -> web.Response:
    """OPTIONS /chat/api/...: the CORS preflight; `cross_origin` adds the headers."""
    return web.Response(status=204)


async def hello(request: web.Request) -> web.Response:
    """POST /chat/api/hello: start or resume; returns the welcome and the history."""

    try:
        welcome = await request.config_dict[SERVICE].hello(parse_hello(await _body(request)))
    except ProtocolError as error:
        return _error(error)
    live = await request.config_dict[HUB].current_live(welcome.session_id)
    return _json(
        {
            **welcome.to_frame(),
            "messages": [m.to_frame() for m in welcome.history],
            "notice": live.notice,
            "typing": live.typing,
            "frames": await request.config_dict[SERVICE].state_frames(welcome.session_id),
        }
    )


async def post_frame(request: web.Request) -> web.Response:
    """POST /chat/api/frames: a handoff frame (cancel_handoff, rating, leave_message) with `session_id`."""

    service = request.config_dict[SERVICE]
    try:
        body = await _body(request)
        session_id = _session_id(body.get("session_id"))
        if await service.hub.shop_metadata(session_id) is None:
            raise ProtocolError("unknown_session")
        if body.get("type") not in CONTROL_TYPES:
            raise ProtocolError("unknown_type")
        await service.control(session_id, body)
    except ProtocolError as error:
        return _error(error)
    return _json({"frames": await service.state_frames(session_id)})


async def post_message(request: web.Request) -> web.Response:
    """POST /chat/api/messages: one customer message; returns its ack."""

    try:
        body = await _body(request)
        session_id = _session_id(body.get("session_id"))
        message = parse_message(body, request.config_dict[CONFIG].max_message_length)
        stored = await request.config_dict[SERVICE].receive(session_id, message)
    except ProtocolError as error:
        return _error(error)
    return _json({"type": "ack", "client_id": message.client_id, "id": stored.id, "seq": stored.seq})


async def events(request: web.Request) -> web.Response:
    """GET /chat/api/events?session_id=&after=&wait=: messages after `after`, waiting up to `wait` seconds."""

    hub = request.config_dict[HUB]
    try:
        session_id = _session_id(request.query.get("session_id"))
        after = int(request.query.get("after", "0"))
        wait = min(float(request.query.get("wait", "0")), LONG_POLL_LIMIT_SECONDS)
    except ProtocolError as error:
        return _error(error)
    except ValueError:
        return _error(ProtocolError("bad_field"))
    if await hub.shop_metadata(session_id) is None:
        return _error(ProtocolError("unknown_session"))
    messages = await hub.history(session_id, after)
    if not messages and wait > 0:
        await hub.wait_for_change(session_id, wait)
        messages = await hub.history(session_id, after)
    live = await hub.current_live(session_id)
    return _json({
        "messages": [m.to_frame() for m in messages], "notice": live.notice, "typing": live.typing,
        "frames": await request.config_dict[SERVICE].state_frames(session_id),
    })
