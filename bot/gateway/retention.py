"""Retention windows (settings.yml, section `privacy`) and the job that enforces them: in every gateway, in the
background, and by hand with `python -m tools.privacy retention` (docs/privacy.md).

What goes when (a window of 0 keeps that data for ever):
- `transcript_days`: a conversation quiet this long (no message since) loses its messages, its tickets'
  transcripts and contact details, and the customer id and shop metadata on the conversation row, as an
  erasure does (personal_data.erase_conversations); conversations with an open ticket wait;
- `ticket_days`: closed tickets created this long ago are deleted; a conversation row with no message and
  no ticket left, quiet as long as its transcript window asks, goes with them;
- `event_days`: rows of the event log (masked already) older than this are deleted, so the dashboard's
  figures reach back this far;
- `rasa_tracker_days`: Rasa's stored conversations whose newest event is this old are deleted whole.
Several gateways may run it at once: every step is an idempotent DELETE or UPDATE.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Mapping, Optional

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy.engine import Engine

from analytics.events import events
from bot.gateway.personal_data import delete_dependents, erase_conversations, record_action
from bot.gateway.rasa_trackers import RasaTrackers
from bot.gateway.store import conversations, messages
from core.db import write_transaction
from core.settings import SettingsError
from handoff.schema import OPEN_STATUSES, tickets

logger = logging.getLogger(__name__)

# conversations handled per transaction, so a first run over a large backlog holds no lock for long
BATCH = 500


@dataclass(frozen=True)
class RetentionWindows:
    """How many days each kind of data is kept (0: for ever), and how often the gateway enforces them."""

    transcript_days: float = 180
    ticket_days: float = 365
    event_days: float = 730
    rasa_tracker_days: float = 30
    every_hours: float = 6

    @classmethod
    def from_settings(cls, section: Mapping[str, Any]) -> RetentionWindows:
        """From settings.yml's `privacy` section; a negative or non-numeric window is refused by name."""
        values = {}
        for name in ("transcript_days", "ticket_days", "event_days", "rasa_tracker_days", "every_hours"):
            raw = section.get(name, getattr(cls, name))
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise SettingsError(f"settings.yml: privacy.{name} must be a number of "
                                    f"{'hours' if name == 'every_hours' else 'days'}, not {raw!r}") from None
            if name == "every_hours" and value <= 0:
                raise SettingsError(f"settings.yml: privacy.every_hours must be above 0, not {raw!r}")
            if value < 0:
                raise SettingsError(f"settings.yml: privacy.{name} must be at least 0 (0 keeps the data for ever), "
                                    f"not {raw!r}")
            values[name] = value
        return cls(**values)


def _cutoff(now: datetime, days: float) -> Optional[datetime]:
    return now - timedelta(days=days) if days > 0 else None


def enforce(engine: Engine, trackers: RasaTrackers, windows: RetentionWindows,
            now: Optional[datetime] = None) -> Dict[str, int]:
    """Applies every window once; returns the rows deleted or cleared per kind (also written to the privacy
    record when anything changed)."""
    now = now or datetime.now(timezone.utc)
    counts: Dict[str, int] = {}
    transcripts = _cutoff(now, windows.transcript_days)
    if transcripts is not None:
        counts.update(_expire_transcripts(engine, transcripts))
    ticket_cutoff = _cutoff(now, windows.ticket_days)
    if ticket_cutoff is not None:
        counts.update(_expire_tickets(engine, ticket_cutoff, transcripts))
    event_cutoff = _cutoff(now, windows.event_days)
    if event_cutoff is not None:
        with engine.begin() as connection:
            counts["conversation_events"] = connection.execute(
                events.delete().where(events.c.at < event_cutoff)).rowcount or 0
    tracker_cutoff = _cutoff(now, windows.rasa_tracker_days)
    if tracker_cutoff is not None:
        counts["rasa_tracker_events"] = trackers.delete_quiet_since(tracker_cutoff.timestamp())
    counts = {name: count for name, count in counts.items() if count}
    if counts:
        with engine.begin() as connection:
            record_action(connection, "retention", "retention", "windows",
                    f"transcripts {windows.transcript_days:g}d, tickets {windows.ticket_days:g}d, events "
                    f"{windows.event_days:g}d, rasa {windows.rasa_tracker_days:g}d", counts)
    return counts


def _expire_transcripts(engine: Engine, cutoff: datetime) -> Dict[str, int]:
    """Conversations quiet since `cutoff` that still hold personal data, without an open ticket."""
    recent = exists().where(messages.c.conversation_id == conversations.c.id, messages.c.created_at >= cutoff)
    holds_data = or_(exists().where(messages.c.conversation_id == conversations.c.id),
                     conversations.c.customer_id.isnot(None))
    open_ticket = exists().where(tickets.c.conversation_id == conversations.c.id, tickets.c.status.in_(OPEN_STATUSES))
    quiet = (select(conversations.c.id)
             .where(conversations.c.updated_at < cutoff, not_(recent), not_(open_ticket), holds_data)
             .limit(BATCH))
    totals = {"messages": 0, "tickets": 0, "conversations": 0}
    while True:
        with write_transaction(engine) as connection:
            ids = [row.id for row in connection.execute(quiet)]
            if not ids:
                return totals
            for name, count in erase_conversations(connection, ids).items():
                totals[name] += count


def _expire_tickets(engine: Engine, cutoff: datetime, transcripts: Optional[datetime]) -> Dict[str, int]:
    """Closed tickets closed before `cutoff` (a ticket opened long ago but resolved lately is recent work), then
    conversation rows left with nothing."""
    counts = {}
    with write_transaction(engine) as connection:
        counts["tickets_deleted"] = connection.execute(
            tickets.delete().where(func.coalesce(tickets.c.resolved_at, tickets.c.created_at) < cutoff,
                                   tickets.c.status.notin_(OPEN_STATUSES))
        ).rowcount or 0
        if transcripts is not None:
            counts["conversations_deleted"] = _delete_empty_conversations(connection, min(cutoff, transcripts))
    return counts


def _delete_empty_conversations(connection: Any, cutoff: datetime) -> int:
    """Conversation rows with no message and no ticket, quiet since `cutoff`, and whatever other tables keep
    about them (any table with a foreign key to conversations, such as a resume token)."""
    empty = and_(
        conversations.c.updated_at < cutoff, conversations.c.created_at < cutoff,
        not_(exists().where(messages.c.conversation_id == conversations.c.id)),
        not_(exists().where(tickets.c.conversation_id == conversations.c.id)),
    )
    ids = [row.id for row in connection.execute(select(conversations.c.id).where(empty).limit(BATCH * 10))]
    if not ids:
        return 0
    delete_dependents(connection, ids)
    return connection.execute(conversations.delete().where(conversations.c.id.in_(ids))).rowcount or 0


class RetentionJob:
    """Enforces the windows now and then, off the event loop; a failed run is logged and tried next time."""

    def __init__(self, engine: Engine, trackers: RasaTrackers, windows: RetentionWindows) -> None:
        self.engine = engine
        self.trackers = trackers
        self.windows = windows

    async def run_once(self) -> Dict[str, int]:
        """One enforcement in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(
            None, enforce, self.engine, self.trackers, self.windows)

    async def run_forever(self, first_delay: float = 60.0) -> None:
        """Soon after start (not during it), then every `every_hours`."""
        await asyncio.sleep(first_delay)
        while True:
            try:
                counts = await self.run_once()
                if counts:
                    logger.info("retention: %s", ", ".join(f"{name} {count}" for name, count in counts.items()))
            except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
                logger.exception("enforcing the retention windows failed; trying again in %.0f h",
                                 self.windows.every_hours)
            await asyncio.sleep(self.windows.every_hours * 3600)
