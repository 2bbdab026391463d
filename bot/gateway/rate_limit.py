"""Flood control: a token bucket (a burst, then a steady rate) per key (a conversation, a client address).

`RateLimiter` keeps the buckets in this process (one gateway) and forgets the ones that are full again, so
memory follows the keys active in the last minutes, not every key ever seen. `RedisRateLimiter` keeps them in
Redis, where one script takes a token atomically with Redis's own clock, so every gateway replica counts the same
bucket; a bucket expires once it would be full again.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Protocol, Tuple

logger = logging.getLogger(__name__)


class Limiter(Protocol):
    """Allows `burst` messages at once, refilled at `per_minute` a minute, per key."""

    async def check(self, key: str) -> Tuple[bool, int]:
        """(allowed, seconds to wait before the next message is allowed); takes a token when allowed."""


def _checked(burst: int, per_minute: float) -> float:
    if burst < 1 or per_minute <= 0:
        raise ValueError("gateway.rate_limit_burst must be >= 1 and gateway.rate_limit_per_minute > 0")
    return per_minute / 60.0


# how often the in-memory limiter looks for buckets to forget (on access: no task to start or stop)
FORGET_EVERY_SECONDS = 60.0


def _wait(tokens: float, rate: float) -> int:
    return max(1, math.ceil((1 - tokens) / rate))


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Buckets in this process."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = _checked(burst, per_minute)
        self.burst = burst
        self.clock = clock
        self._buckets: Dict[str, _Bucket] = {}
        # a bucket untouched this long has refilled: forgetting it changes no answer (Redis expires it then)
        self.refill_seconds = burst / self.rate
        self._forgotten_at = clock()

    def take(self, key: str) -> Tuple[bool, int]:
        """(allowed, seconds to wait); takes a token when allowed."""
        now = self.clock()
        if now - self._forgotten_at >= FORGET_EVERY_SECONDS:
            self._forgotten_at = now
            self.forget_idle(self.refill_seconds)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True, 0
        return False, _wait(bucket.tokens, self.rate)

    async def check(self, key: str) -> Tuple[bool, int]:
        return self.take(key)

    def __len__(self) -> int:
        return len(self._buckets)

    def forget_idle(self, idle_seconds: float = 3600) -> None:
        """Drops the buckets untouched for `idle_seconds` (take() does it every minute with the refill time)."""
        cutoff = self.clock() - idle_seconds
        for key in [k for k, b in self._buckets.items() if b.updated < cutoff]:
            del self._buckets[key]


# KEYS[1] the bucket; ARGV burst, tokens a second. Returns {allowed 0/1, tokens left as text}.
_TAKE_TOKEN = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local kept = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(kept[1]) or burst
local updated = tonumber(kept[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every gateway (redis.asyncio client)."""

    def __init__(self, redis: Any, burst: int, per_minute: float, prefix: str = "shop:rate:") -> None:
        self.rate = _checked(burst, per_minute)
        self.burst = burst
        self.prefix = prefix
        self._take = redis.register_script(_TAKE_TOKEN)

    async def check(self, key: str) -> Tuple[bool, int]:
        try:
            allowed, tokens = await self._take(keys=[self.prefix + key], args=[self.burst, self.rate])
        except Exception:  # noqa: BLE001 - Redis restarting: customers are not refused for it
            logger.warning("rate limit of %s not checked: Redis is unavailable", key)
            return True, 0
        if int(allowed):
            return True, 0
        return False, _wait(float(tokens), self.rate)
