"""A circuit breaker for the shop's API: after `failures` failed calls in a row, calls fail at once for
`reset_seconds`; then one trial call decides whether it closes again. A slow or down shop API then costs a
conversation nothing but a quick "try later", instead of a timeout on every message."""

from __future__ import annotations

import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Counts consecutive failures; `allow()` before a call, `succeeded()` or `failed()` after it."""

    def __init__(self, failures: int = 5, reset_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = max(1, failures)
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.state = CLOSED
        self._count = 0
        self._opened_at = 0.0
        self._trial_running = False

    def allow(self) -> bool:
        """Whether a call may go out now (in the half-open state, only one trial at a time)."""
        if self.state == OPEN and self.clock() - self._opened_at >= self.reset_seconds:
            self.state = HALF_OPEN
        if self.state == CLOSED:
            return True
        if self.state == HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def succeeded(self) -> None:
        self.state, self._count, self._trial_running = CLOSED, 0, False

    def failed(self) -> None:
        self._count += 1
        self._trial_running = False
        if self.state == HALF_OPEN or self._count >= self.failures:
            self.state, self._opened_at = OPEN, self.clock()
