"""The handoff service: tickets opened, taken, answered, moved, closed, rated, and left messages.

Domain code with no transport: each command reads and writes the queue and the agent directory in one
unit of work (one transaction, in the SQL thread), then publishes what changed (handoff/events.py).
Who listens decides what the customer is told, what the consoles show and what is logged. Refusals
are domain errors: `HandoffRefused` for a customer's request, `TicketError` for an agent's.

The gateway, not Rasa, decides where a customer's message goes: while the conversation has an open
ticket it goes to the agent and never to the bot, so the bot cannot answer over an agent, and this
works even while Rasa is down.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, Tuple

from sqlalchemy.engine import Connection, Engine

from core.db import using
from core.driver_sql import Read
from handoff.accounts import Agent, AgentDirectory
from handoff.business_hours import BusinessHours
from handoff.contact import normalise_mobile
from handoff.errors import HandoffRefused
from handoff.escalation import Escalation, Rules
from handoff.events import (
    AgentReplied,
    HandoffEvents,
    LeftMessageRequested,
    MessageLeft,
    QueueChanged,
    QueuePlace,
    TicketCancelled,
    TicketOpened,
    TicketRated,
    TicketRequeued,
    TicketResolved,
    TicketTaken,
    TicketTransferred,
)
from handoff.ports import Conversations, RunBlocking, StoredMessage
from handoff.queue import Ticket, TicketError, TicketQueue, open_ticket_read
from handoff.schema import LEFT_MESSAGE, RESOLVED, WAITING

logger = logging.getLogger(__name__)

RATING_WINDOW_SECONDS = 600
LEAVE_MESSAGE_LIMIT = 2000
COMMENT_LIMIT = 500


@dataclass(frozen=True)
class CustomerState:
    """What a (re)connecting customer must be shown about people: their open ticket and its place, or a
    resolved ticket still waiting for a rating."""

    ticket: Optional[Ticket] = None
    agent_name: Optional[str] = None
    place: Optional[QueuePlace] = None
    rating_due: Optional[Ticket] = None


@dataclass(frozen=True)
class TicketDetails:
    """A ticket with what the console shows beside it."""

    ticket: Ticket
    position: Optional[int]
    agent_name: Optional[str]


class HandoffService:
    """Tickets and the conversations they belong to."""

    def __init__(
        self,
        engine: Engine,
        queue: TicketQueue,
        directory: AgentDirectory,
        conversations: Conversations,
        rules: Rules,
        hours: BusinessHours,
        run_blocking: RunBlocking,
        *,
        events: Optional[HandoffEvents] = None,
        online_window_seconds: float = 60,
        default_handling_seconds: float = 480,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.engine = engine
        self.queue = queue
        self.directory = directory
        self.conversations = conversations
        self.rules = rules
        self.hours = hours
        self.run_blocking = run_blocking
        self.events = events or HandoffEvents()
        self.online_window = online_window_seconds
        self.default_handling = default_handling_seconds
        self.clock = clock

    async def _unit(self, work: Callable[[Connection], Any], write: bool = False) -> Any:
        """Runs `work(connection)` in the SQL thread, in one transaction."""

        def run() -> Any:
            with using(self.engine, write=write) as connection:
                return work(connection)

        return await self.run_blocking(run)

    # -- reads inside a unit of work ------------------------------------------------------------
    def _places(self, connection: Connection) -> List[QueuePlace]:
        """Waiting tickets with their place and wait: measured handling time (or the default) spread
        over the agents online."""
        waiting = self.queue.waiting(connection=connection)
        if not waiting:
            return []
        measured = self.queue.average_handling_seconds(connection=connection)
        handling = measured if measured is not None else self.default_handling
        pace = handling / max(1, self.directory.online_count(self.online_window, connection=connection))
        return [
            QueuePlace(ticket, number, int(math.ceil(pace * number)))
            for number, ticket in enumerate(waiting, start=1)
        ]

    def _agent_name(self, connection: Connection, agent_id: Optional[int]) -> Optional[str]:
        found = self.directory.by_id(agent_id, connection=connection) if agent_id else None
        return found.name if found else None

    @staticmethod
    def _place_of(ticket: Ticket, places: List[QueuePlace]) -> Optional[QueuePlace]:
        return next((place for place in places if place.ticket.id == ticket.id), None)

    # -- queries --------------------------------------------------------------------------------
    def open_ticket_read(self, conversation_id: str) -> Read:
        """The read of the conversation's waiting or assigned ticket: the gateway runs it in the transaction that
        stores the customer's message."""
        return open_ticket_read(conversation_id)

    async def open_ticket(self, conversation_id: str) -> Optional[Ticket]:
        """The conversation's waiting or assigned ticket, if any."""
        return await self.run_blocking(self.queue.open_ticket_for, conversation_id)

    async def agents_online(self) -> int:
        return await self.run_blocking(self.directory.online_count, self.online_window)

    async def customer_state(self, conversation_id: str) -> CustomerState:
        """The conversation's open ticket with its place, or a recent resolved ticket to rate."""

        def read(connection: Connection) -> CustomerState:
            ticket = self.queue.open_ticket_for(conversation_id, connection=connection)
            if ticket:
                place = self._place_of(ticket, self._places(connection)) if ticket.status == WAITING else None
                return CustomerState(ticket, self._agent_name(connection, ticket.agent_id), place)
            latest = self.queue.latest_for(conversation_id, connection=connection)
            if (
                latest and latest.status == RESOLVED and latest.rating is None and latest.kind != LEFT_MESSAGE
                and latest.resolved_at
                and (self.clock() - latest.resolved_at).total_seconds() < RATING_WINDOW_SECONDS
            ):
                return CustomerState(rating_due=latest)
            return CustomerState()

        return await self._unit(read)

    async def ticket_details(self, ticket: Ticket) -> TicketDetails:
        """The ticket's place in the queue (when waiting) and its agent's name."""

        def read(connection: Connection) -> TicketDetails:
            place = self._place_of(ticket, self._places(connection)) if ticket.status == WAITING else None
            agent_name = self._agent_name(connection, ticket.agent_id)
            return TicketDetails(ticket, place.position if place else None, agent_name)

        return await self._unit(read)

    async def get(self, ticket_id: int) -> Optional[Ticket]:
        return await self.run_blocking(self.queue.get, ticket_id)

    def _unavailable_because(self, now: datetime, online: int) -> Optional[str]:
        """None when a person can take over now; otherwise why not, for the customer."""
        if not self.hours.is_open(now):
            return f"现在不是人工客服的工作时间，人工客服会在{self.hours.describe_next_opening(now)}处理。"
        if online == 0:
            return "现在暂时没有人工客服在线。"
        return None

    async def _queue_changed(self) -> None:
        await self.events.publish(QueueChanged(await self._unit(self._places)))

    # -- customer side ----------------------------------------------------------------------------
    async def escalate(self, conversation_id: str, decision: Escalation) -> Optional[Ticket]:
        """Opens a ticket (committed first), or offers a left message when nobody can answer now.

        The ticket keeps the stored conversation, each customer message with the bot's reading."""

        def check(connection: Connection) -> Tuple[Optional[Ticket], Optional[str], List[QueuePlace], Optional[str]]:
            existing = self.queue.open_ticket_for(conversation_id, connection=connection)
            if existing:
                return existing, None, self._places(connection), self._agent_name(connection, existing.agent_id)
            online = self.directory.online_count(self.online_window, connection=connection)
            return None, self._unavailable_because(self.clock(), online), [], None

        existing, unavailable, places, agent_name = await self._unit(check)
        if existing:
            await self.events.publish(
                TicketOpened(existing, False, self._place_of(existing, places), decision, agent_name)
            )
            return existing
        if unavailable:
            await self.request_left_message(conversation_id, unavailable + "请留下您的问题和手机号，我们会尽快联系您。")
            return None
        metadata = await self.conversations.shop_metadata(conversation_id) or {}
        transcript = [m.to_transcript_line() for m in await self.conversations.history(conversation_id)]

        def open_ticket(connection: Connection) -> Tuple[Ticket, bool, List[QueuePlace]]:
            ticket, created = self.queue.open(
                conversation_id, reason=decision.reason, detail=decision.detail, priority=decision.priority,
                customer_id=metadata.get("customer_id"), tier=metadata.get("tier"), transcript=transcript,
                connection=connection,
            )
            return ticket, created, self._places(connection)

        ticket, created, places = await self._unit(open_ticket, write=True)
        # the reason only: a decision's detail can quote the customer (the masked copy is in the event log)
        logger.info("conversation %s: ticket %s (%s)", conversation_id, ticket.id, decision.reason)
        await self.events.publish(
            TicketOpened(ticket, created, self._place_of(ticket, places), decision), QueueChanged(places)
        )
        return ticket

    async def cancel(self, conversation_id: str) -> Ticket:
        """The customer stops waiting and goes back to the bot."""
        ticket = await self.run_blocking(self.queue.cancel, conversation_id)
        if ticket is None:
            raise HandoffRefused("no_ticket")
        await self.events.publish(TicketCancelled(ticket))
        await self._queue_changed()
        return ticket

    async def rate(self, conversation_id: str, ticket_id: Any, score: Any, comment: Any) -> Ticket:
        """Stores a 1-5 rating (and an optional comment) of a resolved ticket."""
        valid_score = isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5
        if not valid_score or not isinstance(ticket_id, int):
            raise HandoffRefused("bad_rating")
        comment = comment.strip()[:COMMENT_LIMIT] if isinstance(comment, str) else ""

        def rate(connection: Connection) -> Tuple[Ticket, Optional[str]]:
            rated = self.queue.rate(ticket_id, conversation_id, score, comment, connection=connection)
            return rated, self._agent_name(connection, rated.agent_id)

        try:
            rated, agent_name = await self._unit(rate, write=True)
        except TicketError:
            raise HandoffRefused("no_ticket") from None
        await self.events.publish(TicketRated(rated, score, comment, agent_name))
        return rated

    async def request_left_message(self, conversation_id: str, text: str) -> None:
        """Asks the customer to leave a message and a mobile number for the next shift."""
        await self.events.publish(LeftMessageRequested(conversation_id, text))

    async def leave_message(self, conversation_id: str, text: Any, phone: Any) -> Ticket:
        """A left message becomes a ticket for the next shift."""
        if not isinstance(text, str) or not text.strip():
            raise HandoffRefused("empty")
        if len(text) > LEAVE_MESSAGE_LIMIT:
            raise HandoffRefused("too_long", limit=LEAVE_MESSAGE_LIMIT)
        mobile = normalise_mobile(phone if isinstance(phone, str) else "")
        if mobile is None:
            raise HandoffRefused("bad_phone")
        metadata = await self.conversations.shop_metadata(conversation_id) or {}
        await self.conversations.post(conversation_id, "customer", f"【留言】{text.strip()}\n联系电话：{mobile}")
        transcript = [m.to_transcript_line() for m in await self.conversations.history(conversation_id)]

        def open_ticket(connection: Connection) -> Tuple[Ticket, List[QueuePlace]]:
            ticket, _ = self.queue.open(
                conversation_id, reason="left_message", detail=f"留言，回电 {mobile}",
                priority=self.rules.priorities["left_message"], customer_id=metadata.get("customer_id"),
                tier=metadata.get("tier"), transcript=transcript, kind=LEFT_MESSAGE, contact_phone=mobile,
                connection=connection,
            )
            return ticket, self._places(connection)

        ticket, places = await self._unit(open_ticket, write=True)
        when = self.hours.describe_next_opening(self.clock())
        await self.events.publish(MessageLeft(ticket, text.strip(), mobile, when), QueueChanged(places))
        return ticket

    # -- agent side -------------------------------------------------------------------------------
    async def take_next(self, agent: Agent, ticket_id: Optional[int] = None) -> Optional[Ticket]:
        """Gives the agent the next ticket (or this waiting one)."""

        def take(connection: Connection) -> Tuple[Optional[Ticket], List[QueuePlace]]:
            if ticket_id is None:
                ticket = self.queue.take_next(agent.id, connection=connection)
            else:
                ticket = self.queue.take(ticket_id, agent.id, connection=connection)
            return ticket, self._places(connection) if ticket else []

        ticket, places = await self._unit(take, write=True)
        if ticket is None:
            return None
        await self.events.publish(TicketTaken(ticket, agent.name), QueueChanged(places))
        return ticket

    async def agent_reply(self, agent: Agent, ticket_id: int, text: str) -> StoredMessage:
        """Posts the agent's message into the customer's conversation; returns the stored message."""
        ticket = await self.run_blocking(self.queue.note_agent_reply, ticket_id, agent.id)
        message, _ = await self.conversations.post(
            ticket.conversation_id, "agent", text, extra={"agent": {"name": agent.name}}
        )
        await self.events.publish(AgentReplied(ticket, agent.name, text))
        return message

    async def transfer(self, agent: Agent, ticket_id: int, to_username: str) -> Ticket:
        """Gives the agent's ticket to another agent."""

        def transfer(connection: Connection) -> Tuple[Ticket, str, List[QueuePlace]]:
            target = self.directory.by_username(to_username, connection=connection)
            if target is None:
                raise TicketError("no_such_agent", f"no agent named {to_username!r}")
            moved = self.queue.transfer(ticket_id, agent.id, target.id, connection=connection)
            return moved, target.name, self._places(connection)

        ticket, target_name, places = await self._unit(transfer, write=True)
        await self.events.publish(TicketTransferred(ticket, target_name), QueueChanged(places))
        return ticket

    async def resolve(self, agent: Agent, ticket_id: int, note: str) -> Ticket:
        """Closes the ticket; the bot takes over again."""
        owner = None if agent.role == "supervisor" else agent.id

        def resolve(connection: Connection) -> Tuple[Ticket, List[QueuePlace]]:
            return self.queue.resolve(ticket_id, owner, note, connection=connection), self._places(connection)

        ticket, places = await self._unit(resolve, write=True)
        await self.events.publish(TicketResolved(ticket, agent.name), QueueChanged(places))
        return ticket

    async def requeue_stale(self, agent_timeout_seconds: float) -> List[Ticket]:
        """Tickets of agents who disappeared go back to the queue."""

        def requeue(connection: Connection) -> Tuple[List[Ticket], List[QueuePlace]]:
            tickets = self.queue.requeue_stale(agent_timeout_seconds, connection=connection)
            return tickets, self._places(connection) if tickets else []

        tickets, places = await self._unit(requeue, write=True)
        for ticket in tickets:
            logger.warning("ticket %s: agent %s gone, back in the queue", ticket.id, ticket.agent_id)
        if tickets:
            await self.events.publish(*[TicketRequeued(ticket) for ticket in tickets], QueueChanged(places))
        return tickets

