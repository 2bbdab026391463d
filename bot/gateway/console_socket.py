"""The agent console's live channel (`/console/socket`): queue snapshots, messages of the agent's tickets,
and presence (an open console keeps its agent "online").

The socket authenticates by the session cookie (or `Authorization: Bearer`) on the upgrade, or else by its
first frame, `{"type": "auth", "token": "..."}`; never by a token in the URL. It closes with code 4001 when
its session ends (logout, a password change, the account disabled: console_sessions.py), and also when the
heartbeat finds the session gone (ended by the accounts command line, or expired)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, Optional, Tuple

from aiohttp import WSMessage, WSMsgType, web

from bot.gateway import json_input
from bot.gateway.console_auth import current_agent, request_token, with_agents
from bot.gateway.console_hub import ConsoleConnection
from bot.gateway.keys import CONSOLES
from handoff.accounts import Agent, token_hash

HEARTBEAT_SECONDS = 20
# how long a socket that came without a cookie has to send its auth frame
AUTH_FRAME_SECONDS = 10
SESSION_ENDED = 4001


async def _first_frame_login(request: web.Request, ws: web.WebSocketResponse) -> Tuple[Optional[Agent], str]:
    """The agent named by the socket's first frame {"type": "auth", "token"}, or (None, "")."""
    try:
        received = await ws.receive(timeout=AUTH_FRAME_SECONDS)
        frame = json_input.loads(received.data) if received.type == WSMsgType.TEXT else None
    except (asyncio.TimeoutError, ValueError, RecursionError):
        return None, ""
    if not isinstance(frame, dict) or frame.get("type") != "auth" or not isinstance(frame.get("token"), str):
        return None, ""
    token = frame["token"][:200]
    return await with_agents(request, lambda agents: agents.agent_for_token(token)), token


def _reply_to(received: WSMessage) -> Optional[Dict[str, Any]]:
    """A pong to a ping; an error frame to anything the console does not send (it ignores the reply)."""
    if received.type != WSMsgType.TEXT:
        return {"type": "error", "error": "invalid_json", "message": "console frames are JSON text"}
    try:
        frame = json_input.loads(received.data)
    except json_input.JsonInputError as error:
        return {"type": "error", "error": error.reason, "message": error.detail}
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ping":
        return {"type": "pong"}
    if kind == "auth":  # a repeated login frame: the socket is logged in already
        return None
    return {"type": "error", "error": "unknown_type", "message": 'the console sends {"type": "ping"} only'}


async def console_socket(request: web.Request) -> web.StreamResponse:
    """Serves one agent's console connection until it closes."""
    consoles = request.config_dict[CONSOLES]
    token = request_token(request)
    agent = await current_agent(request)
    if token and agent is None:
        raise web.HTTPUnauthorized(text="not logged in")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    if agent is None:
        agent, token = await _first_frame_login(request, ws)
        if agent is None:
            await ws.close(code=SESSION_ENDED, message=b"not logged in")
            return ws
    ended = asyncio.Event()
    connection = ConsoleConnection(agent, session=token_hash(token), end=ended.set)
    consoles.connections.add(connection)

    async def write() -> None:
        while True:
            frame = await connection.outbox.get()
            await ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def keep_present() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if await with_agents(request, lambda agents: agents.agent_for_token(token)) is None:
                consoles.forget(connection)
                connection.end()
                return
            await with_agents(request, lambda agents: agents.touch(agent.id))

    async def read() -> None:
        async for received in ws:
            if received.type == WSMsgType.ERROR:
                break
            reply = _reply_to(received)
            if reply:
                connection.outbox.put_nowait(reply)

    await with_agents(request, lambda agents: agents.touch(agent.id))
    writer = asyncio.create_task(write())
    presence = asyncio.create_task(keep_present())
    reader = asyncio.create_task(read())
    ending = asyncio.create_task(ended.wait())
    try:
        # an agent coming online changes what customers are offered: tell every console
        await consoles.queue_changed()
        await asyncio.wait({reader, ending}, return_when=asyncio.FIRST_COMPLETED)
        if ended.is_set():
            # closed in the handler's own task, so the close frame goes out before the handler returns
            await ws.close(code=SESSION_ENDED, message=b"session ended")
    finally:
        consoles.forget(connection)
        for task in (presence, writer, reader, ending):
            task.cancel()
    return ws
