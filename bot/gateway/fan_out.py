"""Fan-out: every frame pushed to a conversation reaches each of its open connections.

`FanOut` is the one interface the gateway pushes through. `LocalFanOut` serves one process: queues
for WebSockets and consoles, and an event that wakes HTTP long-poll clients. A shared
implementation (Redis pub/sub) can stand behind the same interface when several gateways run.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Protocol, Set


class Subscriber(Protocol):
    """Anything with `put_nowait(frame)`: an asyncio.Queue, a console's ticket feed."""

    def put_nowait(self, frame: Dict[str, Any]) -> None: ...


class FanOut(Protocol):
    """Delivers a conversation's frames to whoever is connected to it."""

    def publish(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        """Sends `frame` to every subscriber of the conversation and wakes its long-poll waiters."""

    def subscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        """From now on `subscriber` receives every frame published to the conversation."""

    def unsubscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        """Stops delivering to `subscriber`."""

    def has_subscribers(self, conversation_id: str) -> bool:
        """Whether anyone is connected to the conversation here."""

    def followed(self) -> Set[str]:
        """The conversations (and channels) someone is connected to here."""

    async def wait_for_change(self, conversation_id: str, timeout: float) -> None:
        """Returns when something is published to the conversation, or after `timeout` seconds."""


class LocalFanOut:
    """FanOut within this process."""

    def __init__(self) -> None:
        self._subscribers: Dict[str, Set[Subscriber]] = {}
        self._changed: Dict[str, asyncio.Event] = {}
        self._waiting: Dict[str, int] = {}

    def publish(self, conversation_id: str, frame: Dict[str, Any]) -> None:
        for subscriber in list(self._subscribers.get(conversation_id, ())):
            subscriber.put_nowait(frame)
        # wake long-poll waiters; later waiters get a fresh event
        changed = self._changed.pop(conversation_id, None)
        if changed is not None:
            changed.set()

    def subscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        self._subscribers.setdefault(conversation_id, set()).add(subscriber)

    def unsubscribe(self, conversation_id: str, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(conversation_id)
        if subscribers is None:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[conversation_id]

    def has_subscribers(self, conversation_id: str) -> bool:
        return bool(self._subscribers.get(conversation_id))

    def followed(self) -> Set[str]:
        return set(self._subscribers)

    async def wait_for_change(self, conversation_id: str, timeout: float) -> None:
        event = self._changed.get(conversation_id)
        if event is None:
            event = self._changed[conversation_id] = asyncio.Event()
        self._waiting[conversation_id] = self._waiting.get(conversation_id, 0) + 1
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            # the event is kept only while someone waits on it
            left = self._waiting.pop(conversation_id) - 1
            if left:
                self._waiting[conversation_id] = left
            elif self._changed.get(conversation_id) is event:
                del self._changed[conversation_id]
