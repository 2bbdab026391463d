"""The agent consoles' live read model: every open console, its queue snapshot and the messages of the
tickets its agent holds (the socket that carries them is console_socket.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Dict, Set

from handoff.accounts import Agent

logger = logging.getLogger(__name__)


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
