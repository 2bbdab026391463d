"""What gateway replicas share through Redis (`gateway.redis_url`): the live frames of every conversation
(redis_fan_out.py), its live state (live_state.py) and the rate limits (rate_limit.py). Conversations,
messages and tickets are in the database; this is everything else a second gateway needs to know."""

from __future__ import annotations

from typing import Any, Dict, List

import redis.asyncio as redis_asyncio

from bot.gateway.hub import ConversationHub
from bot.gateway.live_state import RedisLiveStates
from bot.gateway.rate_limit import RedisRateLimiter
from bot.gateway.redis_fan_out import RedisFanOut


class SharedState:
    """One Redis client and what is built on it."""

    def __init__(self, client: Any) -> None:
        self.redis = client
        self.fan_out = RedisFanOut(client)
        self.live_states = RedisLiveStates(client)

    @classmethod
    def connect(cls, url: str) -> SharedState:
        """A client for `url` (redis://host:port/db); it connects on first use and again after a restart."""
        return cls(redis_asyncio.from_url(url, socket_timeout=5, socket_connect_timeout=2,
                                          health_check_interval=10))

    def follow(self, hub: ConversationHub) -> None:
        """After Redis comes back, the fan-out re-delivers the messages stored meanwhile, read from `hub`."""

        async def catch_up(conversation_id: str, after_seq: int) -> List[Dict[str, Any]]:
            return [message.to_frame() for message in await hub.history(conversation_id, after_seq)]

        self.fan_out.catch_up = catch_up

    def rate_limiter(self, burst: int, per_minute: float, prefix: str = "shop:rate:") -> RedisRateLimiter:
        """Rate limits every replica counts together (keys under `prefix`)."""
        return RedisRateLimiter(self.redis, burst, per_minute, prefix)

    async def start(self) -> None:
        await self.fan_out.start()

    async def close(self) -> None:
        await self.fan_out.close()
        await self.redis.close()
