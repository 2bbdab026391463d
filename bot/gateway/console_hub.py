"""The agent consoles' read model: every open console, its queue snapshot, the messages of the tickets
its agent holds, and the ticket view of docs/console-api.md (the socket that carries them is
console_socket.py). It listens to the handoff service's events and refreshes on every queue change: a queue
change is announced on the consoles' own fan-out channel, so the consoles of every gateway replica refresh,
whichever gateway changed the queue."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Set

from bot.gateway.hub import ConversationHub
from handoff.accounts import Agent
from handoff.events import QueueChanged
from handoff.queue import Ticket
from handoff.services import HandoffService

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
    # the hash of the session token the console logged in with, and what closes its socket when the session
    # ends (logout, a password change, disabling: console_sessions.py)
    session: str = ""
    end: Callable[[], None] = lambda: None


# the fan-out channel on which queue changes are announced to the consoles (no conversation id has a "#")
QUEUE_CHANNEL = "#queue"


class ConsoleHub:
    """Every open console; pushes queue snapshots and the agents' tickets' messages."""

    def __init__(self, service: HandoffService, hub: ConversationHub) -> None:
        self.service = service
        self.hub = hub
        self.connections: Set[ConsoleConnection] = set()
        self._refreshing: Optional[asyncio.Task] = None
        self._again = False
        self._id = uuid.uuid4().hex
        service.events.subscribe(self._on_event)
        hub.subscribe(QUEUE_CHANNEL, self)

    async def _on_event(self, event: Any) -> None:
        if isinstance(event, QueueChanged):
            # the consoles here at once (an agent's next request sees its new ticket followed), the other
            # gateways' consoles through the channel
            await self.queue_changed()
            self.hub.push(QUEUE_CHANNEL, {"type": "queue_changed", "from": self._id})

    async def announce_queue_change(self) -> None:
        """Something the queue snapshot shows changed outside the handoff service (an agent went offline):
        the consoles here refresh, and the other gateways' through the channel."""
        await self.queue_changed()
        self.hub.push(QUEUE_CHANNEL, {"type": "queue_changed", "from": self._id})

    def put_nowait(self, frame: Dict[str, Any]) -> None:
        """A queue change another gateway announced on the channel: the consoles here refresh (once for a
        burst of changes)."""
        if frame.get("from") == self._id:
            return
        if self._refreshing is not None and not self._refreshing.done():
            self._again = True
            return
        self._refreshing = asyncio.ensure_future(self._refresh_all())

    async def _refresh_all(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            try:
                await self.queue_changed()
            except Exception:  # noqa: BLE001 - the next change refreshes again
                logger.exception("refreshing the consoles failed")

    async def snapshot(self, agent: Agent) -> Dict[str, Any]:
        """The `queue` frame (also the body of GET /console/api/queue)."""
        service = self.service

        def read() -> Any:
            waiting = service.queue.waiting()
            mine = service.queue.assigned_to(agent.id)
            previews = self.hub.store.last_customer_texts([t.conversation_id for t in waiting + mine])
            return waiting, mine, previews

        waiting, mine, previews = await service.run_blocking(read)
        return {
            "type": "queue",
            "waiting": [
                {**t.summary(n), "preview": previews.get(t.conversation_id, "")}
                for n, t in enumerate(waiting, start=1)
            ],
            "mine": [{**t.summary(None, agent.name), "preview": previews.get(t.conversation_id, "")} for t in mine],
            "agents_online": await service.agents_online(),
        }

    async def ticket_view(self, ticket: Ticket) -> Dict[str, Any]:
        """The `Ticket` object of docs/console-api.md: summary, metadata, the transcript with the bot's readings."""
        details = await self.service.ticket_details(ticket)
        view = ticket.summary(details.position, details.agent_name)
        messages = await self.hub.history(ticket.conversation_id)
        view.update(
            shop_metadata=await self.hub.shop_metadata(ticket.conversation_id) or {},
            transcript=[message.to_transcript_line() for message in messages],
            preview=next((m.text for m in reversed(messages) if m.sender == "customer"), ""),
            resolution_note=ticket.resolution_note,
            rating=ticket.rating,
            rating_comment=ticket.rating_comment,
            first_agent_reply_at=ticket.first_agent_reply_at.isoformat() if ticket.first_agent_reply_at else None,
            resolved_at=ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        )
        return view

    def forget(self, connection: ConsoleConnection) -> None:
        """A console closed: stop following its tickets' conversations."""
        self.connections.discard(connection)
        for conversation_id, feed in connection.feeds.values():
            self.hub.unsubscribe(conversation_id, feed)
        connection.feeds.clear()

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
                self.hub.unsubscribe(conversation_id, feed)
        for ticket_id, conversation_id in held.items():
            if ticket_id not in connection.feeds:
                feed = TicketFeed(connection.outbox, ticket_id)
                self.hub.subscribe(conversation_id, feed)
                connection.feeds[ticket_id] = (conversation_id, feed)
