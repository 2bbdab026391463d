"""What the handoff service tells the rest of the product, after each change is committed.

The service (handoff/services.py) changes tickets and publishes these events; it does not know who
listens. The gateway subscribes three listeners: what the customer is told (customer_notices.py),
the agents' consoles (console_hub.py) and the event log (event_recorder.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, List, Optional

from handoff.escalation import Escalation
from handoff.queue import Ticket

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuePlace:
    """A waiting ticket's place in the queue (1 = next) and the expected wait."""

    ticket: Ticket
    position: int
    eta_seconds: int


@dataclass(frozen=True)
class TicketOpened:
    """A customer asked for a person and has a ticket: a new one (`created`) or the one already open."""

    ticket: Ticket
    created: bool
    place: Optional[QueuePlace]
    decision: Escalation
    agent_name: Optional[str] = None


@dataclass(frozen=True)
class LeftMessageRequested:
    """The customer is asked to leave a message and a mobile number (no person can answer now)."""

    conversation_id: str
    text: str


@dataclass(frozen=True)
class MessageLeft:
    """The customer left a message: a ticket for the next shift."""

    ticket: Ticket
    text: str
    mobile: str
    next_opening: str


@dataclass(frozen=True)
class TicketCancelled:
    """The customer stopped waiting."""

    ticket: Ticket


@dataclass(frozen=True)
class TicketRated:
    """The customer rated a resolved ticket."""

    ticket: Ticket
    score: int
    comment: str
    agent_name: Optional[str]


@dataclass(frozen=True)
class TicketTaken:
    """An agent took a ticket."""

    ticket: Ticket
    agent_name: str


@dataclass(frozen=True)
class AgentReplied:
    """An agent's message was posted into the customer's conversation."""

    ticket: Ticket
    agent_name: str
    text: str


@dataclass(frozen=True)
class TicketTransferred:
    """A ticket moved to another agent."""

    ticket: Ticket
    agent_name: str


@dataclass(frozen=True)
class TicketResolved:
    """An agent (or a supervisor) closed a ticket; the bot answers the customer again."""

    ticket: Ticket
    agent_name: str


@dataclass(frozen=True)
class TicketRequeued:
    """The ticket's agent disappeared; the ticket waits again at its old place."""

    ticket: Ticket


@dataclass(frozen=True)
class QueueChanged:
    """The waiting tickets, in the order agents get them, after any change to the queue."""

    places: List[QueuePlace] = field(default_factory=list)


Listener = Callable[[Any], Awaitable[None]]


class HandoffEvents:
    """Listeners, called in the order they subscribed, for every event; one failing does not stop the rest."""

    def __init__(self) -> None:
        self._listeners: List[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """From now on `listener(event)` is awaited for every published event."""
        self._listeners.append(listener)

    async def publish(self, *events: Any) -> None:
        """Hands each event to every listener, in order. Called only after the change is committed."""
        for event in events:
            for listener in self._listeners:
                try:
                    await listener(event)
                except Exception:  # noqa: BLE001 - the change is committed; a listener's failure is its own
                    logger.exception("handoff listener %r failed on %s", listener, type(event).__name__)
