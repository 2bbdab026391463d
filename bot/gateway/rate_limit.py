"""Flood control: a token bucket (a burst, then a steady rate) per key (a conversation, a client address).

`RateLimiter` keeps the buckets in this process (one gateway) and forgets the ones that are full again, so
memory follows the keys active in the last minutes, not every key ever seen. `RedisRateLimiter` keeps them in
Redis, where one script takes a token atomically with Redis's own clock, so every gateway replica counts the same
bucket; a bucket expires once it would be full again. `take_in_turn` asks several buckets (a customer message: its
conversation's, then its address's) in one call to Redis when they all live there.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Protocol, Sequence, Tuple

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


# KEYS: the buckets, in turn; ARGV: each one's burst and tokens a second. A token is taken from each bucket in
# turn until one has none; returns {the 1-based number of that bucket (0: none refused), its tokens as text}.
_TAKE_TOKENS = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
for i, key in ipairs(KEYS) do
  local burst, rate = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local kept = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = tonumber(kept[1]) or burst
  local updated = tonumber(kept[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
  local allowed = tokens >= 1
  if allowed then
    tokens = tokens - 1
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'updated', tostring(now))
  redis.call('EXPIRE', key, math.ceil((burst - tokens) / rate) + 1)
  if not allowed then
    return {i, tostring(tokens)}
  end
end
return {0, ''}
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every gateway (redis.asyncio client)."""

    def __init__(self, redis: Any, burst: int, per_minute: float, prefix: str = "shop:rate:") -> None:
        self.rate = _checked(burst, per_minute)
        self.burst = burst
        self.prefix = prefix
        self.redis = redis
        self._take = redis.register_script(_TAKE_TOKENS)

    async def check(self, key: str) -> Tuple[bool, int]:
        refused, wait = await take_in_turn([(self, key)])
        return refused is None, wait


async def take_in_turn(checks: Sequence[Tuple[Limiter, str]]) -> Tuple[Optional[int], int]:
    """Takes a token from each (limiter, key) in turn until one refuses, as calling their `check` one after another
    would; (the index of the one that refused, None if none did; seconds it asks to wait). Buckets that all live in
    one Redis are asked in one call."""
    shared = [limiter for limiter, _ in checks if isinstance(limiter, RedisRateLimiter)]
    if checks and len(shared) == len(checks) and all(limiter.redis is shared[0].redis for limiter in shared):
        try:
            refused, tokens = await shared[0]._take(
                keys=[limiter.prefix + key for limiter, key in checks],
                args=[value for limiter, _ in checks for value in (limiter.burst, limiter.rate)])
        except Exception:  # noqa: BLE001 - Redis restarting: customers are not refused for it
            logger.warning("rate limits of %s not checked: Redis is unavailable", ", ".join(k for _, k in checks))
            return None, 0
        if not int(refused):
            return None, 0
        index = int(refused) - 1
        return index, _wait(float(tokens), checks[index][0].rate)
    for index, (limiter, key) in enumerate(checks):
        allowed, wait = await limiter.check(key)
        if not allowed:
            return index, wait
    return None, 0
