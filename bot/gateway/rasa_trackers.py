"""Rasa's stored conversations (its tracker store's `events` table, bot/rasa_tracker_store.py), read and deleted
from the gateway's side for personal-data requests and retention, without importing Rasa.

The table lives in the database `rasa.tracker_store_url` names (a file of its own by default, the shared
PostgreSQL when scaled). Rasa's sender id is the gateway's conversation id (rasa_client.py).

A running Rasa keeps the trackers it handled in memory, but it checks the newest stored event id of a
conversation before handing a kept tracker out again (`CachedSQLTrackerStore._retrieve_now`): once the rows
are deleted that check differs, Rasa reads the database, finds nothing and drops its copy. So a deletion here
is never undone or answered from by a running Rasa; the conversation starts afresh if the customer writes again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.db import absolute_sqlite_url

# Rasa's own table, as `SQLTrackerStore.SQLEvent` declares it; on a MetaData of its own, since the gateway's
# migrations do not make it (Rasa does, on its first start)
_rasa_metadata = sa.MetaData()
rasa_events = sa.Table(
    "events",
    _rasa_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
# deletions go in batches of this many conversations (SQLite allows some 32,000 bound values a statement)
BATCH = 500


def _batches(items: List[str]) -> Iterable[List[str]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


class RasaTrackers:
    """Rasa's `events` table at `url`; a missing database or table (Rasa never started) holds nothing."""

    def __init__(self, url: str) -> None:
        self.url = absolute_sqlite_url(url)
        self._engine: Optional[Engine] = None
        self._lock = threading.Lock()

    def _connect(self) -> Optional[Engine]:
        with self._lock:
            if self._engine is None:
                if self.url.startswith("sqlite:///") and ":memory:" not in self.url:
                    if not Path(self.url[len("sqlite:///"):]).exists():
                        return None  # do not create Rasa's file: Rasa has not run here
                self._engine = sa.create_engine(self.url, future=True)
            engine = self._engine
        return engine if sa.inspect(engine).has_table("events") else None

    def close(self) -> None:
        """Releases the connections."""
        if self._engine is not None:
            self._engine.dispose()

    def export(self, sender_ids: List[str]) -> List[Dict[str, Any]]:
        """Every stored event of these conversations, oldest first, as Rasa stored it (its JSON parsed)."""
        engine = self._connect()
        if engine is None or not sender_ids:
            return []
        found: List[Dict[str, Any]] = []
        with engine.connect() as connection:
            for batch in _batches(sender_ids):
                rows = connection.execute(
                    sa.select(rasa_events).where(rasa_events.c.sender_id.in_(batch)).order_by(rasa_events.c.id)
                ).all()
                for row in rows:
                    try:
                        data = json.loads(row.data) if row.data else None
                    except ValueError:
                        data = row.data
                    found.append({"sender_id": row.sender_id, "type_name": row.type_name,
                                  "timestamp": row.timestamp, "data": data})
        return found

    def delete(self, sender_ids: List[str]) -> int:
        """Deletes every stored event of these conversations; returns how many rows went."""
        engine = self._connect()
        if engine is None or not sender_ids:
            return 0
        deleted = 0
        with engine.begin() as connection:
            for batch in _batches(sender_ids):
                deleted += connection.execute(
                    rasa_events.delete().where(rasa_events.c.sender_id.in_(batch))
                ).rowcount or 0
        return deleted

    def delete_quiet_since(self, before_timestamp: float) -> int:
        """Deletes whole conversations whose newest event is older than `before_timestamp` (Unix time): a
        conversation still going keeps its history, and Rasa's check sees a quiet one's rows gone."""
        engine = self._connect()
        if engine is None:
            return 0
        quiet = (
            sa.select(rasa_events.c.sender_id).group_by(rasa_events.c.sender_id)
            .having(sa.func.max(rasa_events.c.timestamp) < before_timestamp)
        )
        with engine.connect() as connection:
            senders = [row.sender_id for row in connection.execute(quiet)]
        return self.delete(senders)
