"""What is true of a conversation right now but is not a message: the bot typing, a notice (the bot is slow or
down), an open "leave a message" form, whether the "person or message?" offer was made in this outage.

One gateway keeps it in memory (hub.py). When gateways are replicas, `RedisLiveStates` also keeps it in
Redis, one key per conversation, so a customer who reconnects to another gateway is shown the same notice and
form; each key expires after a day without a change. The typing dots are the exception: they last only while
the gateway answering the turn waits for the bot, so they go to the clients live and are never written here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Protocol

logger = logging.getLogger(__name__)

EXPIRE_SECONDS = 24 * 3600


@dataclass
class LiveState:
    """A conversation's live state."""

    typing: bool = False
    notice: Optional[Dict[str, Any]] = None
    # the open "leave a message" form, shown again to a client that reconnects
    leave_message_request: Optional[Dict[str, Any]] = None
    # the "person or message?" offer was made during the current bot outage
    offered_alternatives: bool = False

    def is_idle(self) -> bool:
        return not self.typing and self.notice is None and not self.leave_message_request


class LiveStates(Protocol):
    """Where live states are shared between gateways."""

    async def get(self, conversation_id: str) -> LiveState:
        """The conversation's live state (an idle one if none is kept)."""

    async def put(self, conversation_id: str, state: LiveState) -> None:
        """Keeps the conversation's live state; an idle one is forgotten."""


class RedisLiveStates:
    """Live states in Redis, shared by every gateway (redis.asyncio client)."""

    def __init__(self, redis: Any, prefix: str = "shop:live:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def get(self, conversation_id: str) -> LiveState:
        try:
            raw = await self.redis.get(self.prefix + conversation_id)
        except Exception:  # noqa: BLE001 - Redis restarting: the customer is shown no stale state
            logger.warning("could not read the live state of %s from Redis", conversation_id)
            return LiveState()
        return LiveState(**json.loads(raw)) if raw else LiveState()

    async def put(self, conversation_id: str, state: LiveState) -> None:
        try:
            if state.is_idle() and not state.offered_alternatives:
                await self.redis.delete(self.prefix + conversation_id)
            else:
                await self.redis.set(self.prefix + conversation_id, json.dumps(asdict(state), ensure_ascii=False),
                                     ex=EXPIRE_SECONDS)
        except Exception:  # noqa: BLE001 - the conversation goes on; only a reconnect elsewhere misses it
            logger.warning("could not keep the live state of %s in Redis", conversation_id)
