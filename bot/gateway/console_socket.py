"""The agent console's live channel (`/console/socket`): queue snapshots, messages of the agent's tickets,
and presence (an open console keeps its agent "online")."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Set

from aiohttp import WSMsgType, web

from bot.gateway.console_auth import current_agent
from handoff.accounts import Agent

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 20


class TicketFeed:
    """Turns a conversation's frames into the console's `message` frames for one ticket."""

    def __init__(self, outbox: asyncio.Queue, ticket_id: int) -> None:
        self.outbox = outbox
        self.ticket_id = ticket_id

    def put_nowait(self, frame: Dict[str, Any]) -> None:
        if frame.get("type") == "message":
            message = {k: v for k, v in frame.items() if k != "type"}
            self.outbox.put_nowait({"type": "message", "ticket_id": self.ticket_id, "message": message})


@dataclass(eq=False)
class ConsoleConnection:
    agent: Agent
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    feeds: Dict[int, Any] = field(default_factory=dict)  # ticket id -> (conversation id, TicketFeed)


class ConsoleHub:
    """Every open console; pushes queue snapshots and the agents' tickets' messages."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk
        self.connections: Set[ConsoleConnection] = set()
        desk.on_queue_change.append(self.queue_changed)

    async def snapshot(self, agent: Agent) -> Dict[str, Any]:
        """The `queue` frame (also the body of GET /console/api/queue)."""
        desk = self.desk
        waiting = await desk._sql(desk.queue.waiting)
        mine = await desk._sql(desk.queue.assigned_to, agent.id)
        previews = await desk._sql(desk.hub.store.last_customer_texts, [t.conversation_id for t in waiting + mine])
        return {
            "type": "queue",
            "waiting": [
                {**t.summary(n), "preview": previews.get(t.conversation_id, "")}
                for n, t in enumerate(waiting, start=1)
            ],
            "mine": [{**t.summary(None, agent.name), "preview": previews.get(t.conversation_id, "")} for t in mine],
            "agents_online": await desk.agents_online(),
        }

    async def queue_changed(self) -> None:
        for connection in list(self.connections):
            await self._refresh(connection)

    async def _refresh(self, connection: ConsoleConnection) -> None:
        frame = await self.snapshot(connection.agent)
        connection.outbox.put_nowait(frame)
        # follow exactly the conversations of the tickets this agent holds now
        held = {t["id"]: t["conversation_id"] for t in frame["mine"]}
        for ticket_id in list(connection.feeds):
            if ticket_id not in held:
                conversation_id, feed = connection.feeds.pop(ticket_id)
                self.desk.hub.unsubscribe(conversation_id, feed)
        for ticket_id, conversation_id in held.items():
            if ticket_id not in connection.feeds:
                feed = TicketFeed(connection.outbox, ticket_id)
                self.desk.hub.subscribe(conversation_id, feed)
                connection.feeds[ticket_id] = (conversation_id, feed)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        agent = await current_agent(request)
        if agent is None:
            raise web.HTTPUnauthorized(text="not logged in")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        connection = ConsoleConnection(agent)
        self.connections.add(connection)
        desk = self.desk

        async def write() -> None:
            while True:
                frame = await connection.outbox.get()
                await ws.send_str(json.dumps(frame, ensure_ascii=False))

        async def keep_present() -> None:
            while True:
                await desk._sql(desk.directory.touch, agent.id)
                await asyncio.sleep(HEARTBEAT_SECONDS)

        await desk._sql(desk.directory.touch, agent.id)
        writer = asyncio.create_task(write())
        presence = asyncio.create_task(keep_present())
        try:
            # an agent coming online changes what customers are offered: tell every console
            await self.queue_changed()
            async for received in ws:
                if received.type == WSMsgType.TEXT and '"ping"' in received.data:
                    connection.outbox.put_nowait({"type": "pong"})
                elif received.type == WSMsgType.ERROR:
                    break
        finally:
            self.connections.discard(connection)
            for conversation_id, feed in connection.feeds.values():
                desk.hub.unsubscribe(conversation_id, feed)
            presence.cancel()
            writer.cancel()
        return ws
