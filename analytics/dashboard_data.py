"""The supervisor dashboard's data: a period's events read off the event loop, and the question labels."""

from __future__ import annotations

from datetime import date
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from sqlalchemy.engine import Engine

from analytics.events import Event
from analytics.metrics import CostSettings
from analytics.report import knowledge_labels, parse_period, period_events

RunBlocking = Callable[..., Awaitable[Any]]


class DashboardData:
    """Reads through `run_blocking` (the process's database thread) and remembers the labels."""

    def __init__(self, engine: Engine, run_blocking: RunBlocking, cost_settings: CostSettings) -> None:
        self.engine = engine
        self.run_blocking = run_blocking
        self.settings = cost_settings
        self._labels: Dict[str, Dict[str, str]] = {}

    async def labels(self) -> Dict[str, str]:
        """Knowledge-base key -> question, for the charts."""
        if not self._labels:
            questions, categories = await self.run_blocking(knowledge_labels)
            self._labels = {"questions": questions, "categories": categories}
        return self._labels["questions"]

    async def period(self, start_text: Optional[str], end_text: Optional[str]) -> Tuple[date, date, List[Event]]:
        """The period's first and last day and its events; ValueError (saying why) for a bad period."""
        start, end = parse_period(start_text, end_text, self.settings.timezone)
        events = await self.run_blocking(period_events, self.engine, start, end, self.settings)
        return start, end, events
