"""The HTTP fallback of the customer channel (`/chat/api/...`) for browsers that cannot keep a WebSocket.

The same frames as the socket, over POST and a long-polling GET.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from aiohttp import web

from bot.gateway.json_input import MAX_SAFE_INTEGER, JsonInputError, read_json_object
from bot.gateway.keys import CONFIG, HUB, SERVICE
from bot.gateway.live_state import LiveState
from bot.gateway.origins import origin_allowed
from bot.gateway.parameters import bounded_float, bounded_int
from bot.gateway.protocol import CONTROL_TYPES, TEXTS, ProtocolError, parse_hello, parse_message
from bot.gateway.request_limits import client_address

LONG_POLL_LIMIT_SECONDS = 25
ERROR_STATUS = {"rate_limited": 429, "too_many_conversations": 429, "too_many_left_messages": 429, "too_long": 413,
                "unknown_session": 404, "no_ticket": 409, "bad_resume_token": 403}
# every call after the hello proves it is the customer's with the conversation's resume token (from the welcome),
# in a header: never in the URL, which access logs and proxies keep
RESUME_TOKEN_HEADER = "X-Resume-Token"


def _json(body: Dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def _error(error: ProtocolError) -> web.Response:
    response = _json(error.to_frame(), ERROR_STATUS.get(error.code, error.values.get("status", 400)))
    if "seconds" in error.values:
        response.headers["Retry-After"] = str(error.values["seconds"])
    return response


async def _body(request: web.Request) -> Dict[str, Any]:
    try:
        return await read_json_object(request)
    except JsonInputError as error:
        raise ProtocolError("invalid_json", detail=str(error), status=error.status) from None


def _session_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ProtocolError("unknown_session")
    return value


async def _check_resume_token(request: web.Request, session_id: str) -> None:
    await request.config_dict[SERVICE].check_resume_token(session_id, request.headers.get(RESUME_TOKEN_HEADER))


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
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, " + RESUME_TOKEN_HEADER
        # the token header makes every long poll a non-simple request: one preflight per 10 minutes, not per poll
        response.headers["Access-Control-Max-Age"] = "600"
    return response


async def preflight(request: web.Request) -> web.Response:
    """OPTIONS /chat/api/...: the CORS preflight; `cross_origin` adds the headers."""
    return web.Response(status=204)


async def hello(request: web.Request) -> web.Response:
    """POST /chat/api/hello: start or resume; returns the welcome and the history."""

    try:
        welcome = await request.config_dict[SERVICE].hello(parse_hello(await _body(request)), client_address(request))
    except ProtocolError as error:
        return _error(error)
    # a conversation this hello started has no live state or handoff state to read yet
    resumed = welcome.resumed
    live = await request.config_dict[HUB].current_live(welcome.session_id) if resumed else LiveState()
    return _json(
        {
            **welcome.to_frame(),
            "messages": [m.to_frame() for m in welcome.history],
            "notice": live.notice,
            "typing": live.typing,
            "frames": await request.config_dict[SERVICE].state_frames(welcome.session_id) if resumed else [],
        }
    )


async def post_frame(request: web.Request) -> web.Response:
    """POST /chat/api/frames: a handoff frame (cancel_handoff, rating, leave_message) with `session_id`."""

    service = request.config_dict[SERVICE]
    try:
        body = await _body(request)
        session_id = _session_id(body.get("session_id"))
        await _check_resume_token(request, session_id)
        if await service.hub.shop_metadata(session_id) is None:
            raise ProtocolError("unknown_session")
        if body.get("type") not in CONTROL_TYPES:
            raise ProtocolError("unknown_type")
        await service.control(session_id, body, client_address(request))
    except ProtocolError as error:
        return _error(error)
    return _json({"frames": await service.state_frames(session_id)})


async def post_message(request: web.Request) -> web.Response:
    """POST /chat/api/messages: one customer message; returns its ack."""

    try:
        body = await _body(request)
        session_id = _session_id(body.get("session_id"))
        await _check_resume_token(request, session_id)
        message = parse_message(body, request.config_dict[CONFIG].max_message_length)
        stored = await request.config_dict[SERVICE].receive(session_id, message, client_address(request))
    except ProtocolError as error:
        return _error(error)
    return _json({"type": "ack", "client_id": message.client_id, "id": stored.id, "seq": stored.seq})


async def events(request: web.Request) -> web.Response:
    """GET /chat/api/events?session_id=&after=&wait=: messages after `after`, waiting up to `wait` seconds."""

    hub = request.config_dict[HUB]
    try:
        session_id = _session_id(request.query.get("session_id"))
        after = bounded_int(request.query.get("after", "0"), 0, MAX_SAFE_INTEGER)
        wait = min(bounded_float(request.query.get("wait", "0")), LONG_POLL_LIMIT_SECONDS)
        await _check_resume_token(request, session_id)
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
