"""Writes the conversation event log (analytics/events.py) from what the gateway sees, off the event loop.

A failure to log never disturbs the conversation: it is logged as an error and the customer goes on.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from analytics.events import Event, EventLog, masked_entities
from bot.gateway.hub import ConversationHub
from handoff.events import (
    AgentReplied,
    HandoffEvents,
    MessageLeft,
    TicketCancelled,
    TicketOpened,
    TicketRated,
    TicketResolved,
)

logger = logging.getLogger(__name__)

# what a bot turn's report may add to the row's detail, besides the suggestions; nothing else is kept
DETAIL_FIELDS = ("route", "self_service", "outcome", "attribute")
DETAIL_MAX_CHARS = 32


class EventRecorder:
    """`record(conversation_id, kind, ...)` from anywhere in the gateway."""

    def __init__(self, hub: ConversationHub, log: EventLog, gather_seconds: float = 0.2) -> None:
        self.hub = hub
        self.log = log
        # events are gathered this long before they are written, so a busy minute costs a few
        # transactions a second instead of one per message; a crash loses at most this much of the log
        self.gather_seconds = gather_seconds
        # its own writer thread: masking and logging never hold up the next customer message's reads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-log")
        # events waiting for the writer; whatever is waiting goes in one transaction together
        self._pending: List[Event] = []
        self._writer: Optional[asyncio.Future] = None

    def close(self) -> None:
        """Waits for the writer thread (call `drain` first, on the event loop)."""
        self._executor.shutdown(wait=True)

    async def drain(self) -> None:
        """Returns once every event recorded so far is written (or its failure logged)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _enqueue(self, event: Event) -> None:
        """Queues the event for the writer. Nobody waits for it: the conversation goes on at once, and
        events queued meanwhile share one transaction."""
        self._pending.append(event)
        if self._writer is None or self._writer.done():
            # kept, so the writer cannot be collected while it waits for the database thread
            self._writer = asyncio.ensure_future(self._write_pending())

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        if self.gather_seconds:
            await asyncio.sleep(self.gather_seconds)
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await loop.run_in_executor(self._executor, self.log.write_many, batch)
            except Exception:  # noqa: BLE001 - one bad event must not lose the others
                for event in batch:
                    await self._write_alone(event)

    async def _write_alone(self, event: Event) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.log.write, event)
        except Exception:  # noqa: BLE001 - analytics must never break a conversation
            logger.exception("could not log %s event of conversation %s", event.kind, event.conversation_id)

    async def record(self, conversation_id: str, kind: str, **fields: Any) -> None:
        """Queues one event for the log; the customer id is looked up only when the caller does not know it."""
        try:
            if "customer_id" not in fields:
                metadata = await self.hub.shop_metadata(conversation_id) or {}
                fields["customer_id"] = metadata.get("customer_id")
            self._enqueue(Event(conversation_id, kind, **fields))
        except Exception:  # noqa: BLE001 - analytics must never break a conversation
            logger.exception("could not log %s event of conversation %s", kind, conversation_id)

    async def customer_message(
        self, conversation_id: str, text: str, to: str, reading: Optional[Dict[str, Any]] = None,
        customer_id: Optional[str] = None,
    ) -> None:
        """A customer message with the bot's reading of it (core/reading.py), when the bot read it."""
        fields: Dict[str, Any] = {"text": text, "detail": {"to": to}}
        if customer_id is not None:
            fields["customer_id"] = customer_id
        if reading:
            fields.update(intent=reading["intent"], confidence=reading["confidence"])
            fields["detail"]["entities"] = masked_entities(reading["entities"])
        await self.record(conversation_id, "customer_message", **fields)

    async def bot_turn(
        self, conversation_id: str, analytics: Optional[Dict[str, Any]], customer_id: Optional[str] = None
    ) -> None:
        """What an action reported it did; replies without a report are chit-chat answers."""
        event = (analytics or {}).get("event") or "bot_answer"
        if event not in ("bot_answer", "clarification", "fallback"):
            event = "bot_answer"
        detail: Dict[str, Any] = {}
        if analytics and event == "clarification":
            detail["suggested"] = list(analytics.get("suggested") or [])
        for name in DETAIL_FIELDS:
            # the kind of turn (order, product, bargain, card, ask), for the reports and the benchmarks, and
            # a self-service turn's task, outcome and product attribute (analytics/events.py), for the
            # dashboard's self-service figures; an unknown value is kept, cut short
            value = (analytics or {}).get(name)
            if value:
                detail[name] = str(value)[:DETAIL_MAX_CHARS]
        fields: Dict[str, Any] = {"kb_key": (analytics or {}).get("kb_key"), "detail": detail}
        if customer_id is not None:
            fields["customer_id"] = customer_id
        await self.record(conversation_id, event, **fields)

    def listen_to(self, events: HandoffEvents) -> None:
        """Logs what the handoff service does: escalations, left messages, cancellations, agents' messages,
        resolutions and ratings."""
        events.subscribe(self.handoff_event)

    async def handoff_event(self, event: object) -> None:
        """One handoff event as a row of the event log (events that change nothing logged are skipped)."""
        if isinstance(event, TicketOpened) and event.created:
            ticket, decision = event.ticket, event.decision
            await self.record(
                ticket.conversation_id, "escalation", reason=decision.reason, ticket_id=ticket.id,
                detail={"detail": decision.detail, "priority": decision.priority},
            )
        elif isinstance(event, MessageLeft):
            await self.record(
                event.ticket.conversation_id, "escalation", reason="left_message", ticket_id=event.ticket.id,
                text=event.text, detail={"detail": "留言"},
            )
        elif isinstance(event, TicketCancelled):
            await self.record(
                event.ticket.conversation_id, "abandoned", ticket_id=event.ticket.id, detail={"cause": "cancelled"}
            )
        elif isinstance(event, TicketRated):
            await self.record(
                event.ticket.conversation_id, "rating", ticket_id=event.ticket.id, score=event.score,
                text=event.comment or None, agent=event.agent_name,
            )
        elif isinstance(event, AgentReplied):
            await self.record(
                event.ticket.conversation_id, "agent_message", ticket_id=event.ticket.id, agent=event.agent_name,
                text=event.text,
            )
        elif isinstance(event, TicketResolved):
            ticket = event.ticket
            taken = ticket.assigned_at or ticket.created_at
            await self.record(
                ticket.conversation_id, "resolution", ticket_id=ticket.id, agent=event.agent_name,
                detail={
                    "wait_seconds": round((taken - ticket.created_at).total_seconds(), 1),
                    "handling_seconds": round((ticket.resolved_at - taken).total_seconds(), 1),
                },
            )
