"""The agent console's live channel (`/console/socket`): queue snapshots, messages of the agent's tickets,
and presence (an open console keeps its agent "online")."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType, web

from bot.gateway.console_auth import current_agent, with_agents
from bot.gateway.console_hub import ConsoleConnection
from bot.gateway.keys import CONSOLES

HEARTBEAT_SECONDS = 20


async def console_socket(request: web.Request) -> web.StreamResponse:
    """Serves one agent's console connection until it closes."""
    consoles = request.config_dict[CONSOLES]
    agent = await current_agent(request)
    if agent is None:
        raise web.HTTPUnauthorized(text="not logged in")
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    connection = ConsoleConnection(agent)
    consoles.connections.add(connection)

    async def write() -> None:
        while True:
            frame = await connection.outbox.get()
            await ws.send_str(json.dumps(frame, ensure_ascii=False))

    async def keep_present() -> None:
        while True:
            await with_agents(request, lambda agents: agents.touch(agent.id))
            await asyncio.sleep(HEARTBEAT_SECONDS)

    await with_agents(request, lambda agents: agents.touch(agent.id))
    writer = asyncio.create_task(write())
    presence = asyncio.create_task(keep_present())
    try:
        # an agent coming online changes what customers are offered: tell every console
        await consoles.queue_changed()
        async for received in ws:
            if received.type == WSMsgType.TEXT and '"ping"' in received.data:
                connection.outbox.put_nowait({"type": "pong"})
            elif received.type == WSMsgType.ERROR:
                break
    finally:
        consoles.forget(connection)
        presence.cancel()
        writer.cancel()
    return ws
