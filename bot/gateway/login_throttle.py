"""Login throttling: failed logins counted per username and per client address; too many within a window lock
that username or address for a while, the right password included.

`MemoryLoginThrottle` counts in this process (one gateway); `RedisLoginThrottle` counts in Redis
(`gateway.redis_url`), so every replica sees the same failures and locks. Both forget a count when its window
ends and a lock when it expires.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Protocol, Sequence, Tuple

logger = logging.getLogger(__name__)

# (key, failures allowed within the window), e.g. ("user:li", 5), ("addr:10.0.0.7", 20)
Limit = Tuple[str, int]


class LoginThrottle(Protocol):
    """Counts failed logins and locks keys that fail too often."""

    async def locked_for(self, keys: Sequence[str]) -> int:
        """Seconds until the last of these keys' locks expires; 0 when none is locked."""

    async def failed(self, limits: Sequence[Limit]) -> int:
        """Counts a failure under every key; returns the seconds a key is now locked for (0: none)."""

    async def succeeded(self, key: str) -> None:
        """Forgets the failures counted under `key` (a username after its right password)."""


@dataclass
class _Count:
    failures: int
    window_ends: float


class MemoryLoginThrottle:
    """Counts and locks in this process; expired entries are dropped as new ones come."""

    def __init__(self, window_seconds: float, lockout_seconds: float,
                 clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000) -> None:
        self.window = window_seconds
        self.lockout = lockout_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._counts: Dict[str, _Count] = {}
        self._locks: Dict[str, float] = {}

    async def locked_for(self, keys: Sequence[str]) -> int:
        now = self.clock()
        left = max((self._locks.get(key, now) - now for key in keys), default=0.0)
        return math.ceil(left) if left > 0 else 0

    async def failed(self, limits: Sequence[Limit]) -> int:
        now = self.clock()
        self._forget_expired(now)
        locked = 0
        for key, allowed in limits:
            count = self._counts.get(key)
            if count is None or count.window_ends <= now:
                count = self._counts[key] = _Count(0, now + self.window)
            count.failures += 1
            if count.failures >= allowed:
                self._locks[key] = now + self.lockout
                del self._counts[key]
                locked = math.ceil(self.lockout)
        return locked

    async def succeeded(self, key: str) -> None:
        self._counts.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        if len(self._counts) + len(self._locks) < self.max_entries:
            return
        self._counts = {k: c for k, c in self._counts.items() if c.window_ends > now}
        self._locks = {k: until for k, until in self._locks.items() if until > now}


# KEYS: count keys then lock keys (same order); ARGV: window seconds, lockout seconds, then each key's allowance.
# Returns the longest lock set now, in seconds (0: none).
_FAILED = """
local n = #KEYS / 2
local window, lockout = tonumber(ARGV[1]), tonumber(ARGV[2])
local locked = 0
for i = 1, n do
  local failures = redis.call('INCR', KEYS[i])
  if failures == 1 then redis.call('EXPIRE', KEYS[i], window) end
  if failures >= tonumber(ARGV[2 + i]) then
    redis.call('SET', KEYS[n + i], '1', 'EX', lockout)
    redis.call('DEL', KEYS[i])
    locked = lockout
  end
end
return locked
"""


class RedisLoginThrottle:
    """Counts and locks in Redis, shared by every gateway replica; both expire on their own in Redis."""

    def __init__(self, redis: Any, window_seconds: float, lockout_seconds: float,
                 prefix: str = "shop:login:") -> None:
        self.redis = redis
        self.window = max(1, math.ceil(window_seconds))
        self.lockout = max(1, math.ceil(lockout_seconds))
        self.prefix = prefix
        self._failed = redis.register_script(_FAILED)

    async def locked_for(self, keys: Sequence[str]) -> int:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.ttl(self.prefix + "lock:" + key)
                left = await pipe.execute()
        except Exception:  # noqa: BLE001 - Redis restarting: logins are not refused for it (hashing stays bounded)
            logger.warning("login locks not checked: Redis is unavailable")
            return 0
        return max((int(seconds) for seconds in left if int(seconds) > 0), default=0)

    async def failed(self, limits: Sequence[Limit]) -> int:
        keys = [self.prefix + "fail:" + key for key, _ in limits] + [self.prefix + "lock:" + key for key, _ in limits]
        try:
            return int(await self._failed(keys=keys, args=[self.window, self.lockout, *[n for _, n in limits]]))
        except Exception:  # noqa: BLE001 - see locked_for
            logger.warning("failed login not counted: Redis is unavailable")
            return 0

    async def succeeded(self, key: str) -> None:
        try:
            await self.redis.delete(self.prefix + "fail:" + key)
        except Exception:  # noqa: BLE001 - see locked_for
            logger.warning("login failures not reset: Redis is unavailable")
