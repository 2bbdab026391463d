"""The customer WebSocket (`/chat/socket`): frames in, frames out, one writer per connection."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy.exc import SQLAlchemyError

from bot.gateway.keys import CONFIG, HUB, SERVICE
from bot.gateway.origins import origin_allowed
from bot.gateway.protocol import CONTROL_TYPES, TEXTS, ProtocolError, parse_frame, parse_hello, parse_message
from bot.gateway.request_limits import client_address
from bot.gateway.unexpected_errors import INTERNAL_TEXT, report_unexpected
from core import fast_json

logger = logging.getLogger(__name__)

# frames up to json_input.MAX_FRAME_BYTES (256 kB) are read, larger ones refused with an error frame; past
# this, aiohttp closes the socket (1009, as the RFC says) rather than buffer it
MAX_FRAME_BYTES = 1024 * 1024


def dumps(frame: Dict[str, Any]) -> str:
    """JSON with Chinese left readable."""
    return fast_json.dumps(frame)


async def _write_frames(ws: web.WebSocketResponse, outbox: asyncio.Queue) -> None:
    # the only coroutine that writes to the socket, so frames never interleave
    while True:
        frame = await outbox.get()
        try:
            await ws.send_str(dumps(frame))
        except ConnectionResetError:
            return


async def customer_socket(request: web.Request) -> web.WebSocketResponse:
    """Serves one customer connection until it closes."""
    config, hub, service = request.config_dict[CONFIG], request.config_dict[HUB], request.config_dict[SERVICE]
    if not origin_allowed(request, config.allowed_origins):
        logger.info("refused a WebSocket from origin %s", request.headers.get("Origin"))
        raise web.HTTPForbidden(text=TEXTS["bad_origin"])
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)
    outbox: asyncio.Queue = asyncio.Queue()
    writer = asyncio.create_task(_write_frames(ws, outbox))
    session_id: Optional[str] = None
    # every hello, message and left message of this socket counts against its client address
    address = client_address(request)
    try:
        async for received in ws:
            if received.type == WSMsgType.ERROR:
                break
            try:
                if received.type != WSMsgType.TEXT:
                    raise ProtocolError("invalid_json")
                frame = parse_frame(received.data)
                kind = frame["type"]
                if kind == "ping":
                    outbox.put_nowait({"type": "pong"})
                elif kind == "hello":
                    welcome = await service.hello(parse_hello(frame), address)
                    if session_id and session_id != welcome.session_id:
                        hub.unsubscribe(session_id, outbox)
                    session_id = welcome.session_id
                    # subscribed before the history is sent: a message posted meanwhile comes twice
                    # at worst, and the client drops repeated ids
                    hub.subscribe(session_id, outbox)
                    outbox.put_nowait(welcome.to_frame())
                    for message in welcome.history:
                        outbox.put_nowait(message.to_frame())
                    for state in await service.resumed_frames(welcome):
                        outbox.put_nowait(state)
                elif kind == "message":
                    if session_id is None:
                        raise ProtocolError("not_started")
                    message = parse_message(frame, config.max_message_length)
                    stored = await service.receive(session_id, message, address)
                    outbox.put_nowait(
                        {"type": "ack", "client_id": message.client_id, "id": stored.id, "seq": stored.seq}
                    )
                elif kind in CONTROL_TYPES:
                    if session_id is None:
                        raise ProtocolError("not_started")
                    await service.control(session_id, frame, address)
                else:
                    raise ProtocolError("unknown_type")
            except ProtocolError as error:
                outbox.put_nowait(error.to_frame())
            except SQLAlchemyError as error:
                # the database is restarting: nothing unacknowledged was kept, so the client reconnects and
                # sends it again (the widget does), by then to a database that answers
                logger.warning("closing a customer socket: the database failed (%s)", type(error).__name__)
                await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"temporarily unavailable")
                break
            except Exception as error:  # noqa: BLE001 - a bug: reported once, and the socket keeps serving
                incident = report_unexpected(error, "customer socket frame")
                outbox.put_nowait({"type": "error", "code": "internal_error", "text": INTERNAL_TEXT,
                                   "incident": incident})
    finally:
        if session_id:
            hub.unsubscribe(session_id, outbox)
        # let queued frames go out before the writer stops
        while not outbox.empty() and not ws.closed:
            await asyncio.sleep(0.01)
        writer.cancel()
    return ws
