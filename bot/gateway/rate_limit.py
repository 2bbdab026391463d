"""Per-conversation flood control: a token bucket (a burst, then a steady rate)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Dict, Tuple


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `burst` messages at once, refilled at `per_minute` messages a minute, per key."""

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("gateway.rate_limit_burst must be >= 1 and gateway.rate_limit_per_minute > 0")
        self.burst = burst
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: Dict[str, _Bucket] = {}

    def check(self, key: str) -> Tuple[bool, int]:
        """(allowed, seconds to wait before the next message is allowed); takes a token when allowed."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True, 0
        return False, max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def forget_idle(self, idle_seconds: float = 3600) -> None:
        """Drops buckets of conversations that have been quiet, so memory stays bounded."""
        cutoff = self.clock() - idle_seconds
        for key in [k for k, b in self._buckets.items() if b.updated < cutoff]:
            del self._buckets[key]
