"""Rasa's tracker store for the product: conversations in SQL (SQLite embedded, PostgreSQL scaled), so a Rasa
restart or another Rasa process continues every conversation with its slots; with the trackers it last
handled kept in memory, so a turn neither replays the conversation from JSON nor re-serialises it.

Rasa's own `SQLTrackerStore` reads every event of the session back and rebuilds the tracker from JSON on
each message, counts the stored events again before each save, and writes through the ORM. Here:
- a tracker this process saved is handed out again as the same object, after one indexed check that no
  other process has stored events for the conversation since (the newest event's id): any difference, or a
  tracker changed in memory without being saved (a turn that failed half way), reads the database again;
- a save appends only the events this process has not stored yet, in one INSERT, without counting first;
- a conversation read from the database is read with Rasa's query for its latest session written once as Core
  statements (on PostgreSQL prepared, core/driver_sql.py); a new conversation (the read found nothing) is saved
  at once without counting its events (`get_or_create_tracker`: Rasa creates it right after the read, under the
  conversation's lock);
- on a database server, the queries run in threads, so Rasa's event loop serves other conversations while
  one waits for PostgreSQL; each statement is its own transaction (autocommit: the check is one SELECT, a save
  one INSERT and the SELECT of the newest id), and a turn's connections are not pinged before use: a statement
  that finds its connection dropped (PostgreSQL restarted) is tried once more on a new one, a save after counting
  again what is stored, so nothing is written twice (Rasa's own reads, the whole tracker for the HTTP API, go
  through SQLAlchemy's pool, pinged);
- the kept trackers are bounded: the `cache_size` most recently used, each for at most `cache_idle_seconds`
  after its last use (`rasa.tracker_cache_size`, `rasa.tracker_cache_idle_minutes`); a forgotten one is read
  back from the database on the conversation's next message.
The table is Rasa's own (`events`), so Rasa's tools (`rasa export`, the tracker API) read it as usual.

Configured in the endpoints file `bot/run.py` writes:
`tracker_store: {type: bot.rasa_tracker_store.CachedSQLTrackerStore, dialect: ..., db: ...}`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.pool import QueuePool

from core.driver_sql import DriverConnections, Read, driver_values

logger = logging.getLogger(__name__)
T = TypeVar("T")

# conversations whose tracker stays in memory; an evicted one is read from the database on its next message
DEFAULT_CACHE_SIZE = 5000
# and for how long after its last message (a customer who has not written for half an hour has usually left)
DEFAULT_CACHE_IDLE_SECONDS = 1800.0


@dataclass
class _Kept:
    """A tracker this process stored or read: how many of its events are stored, and the id of the newest
    stored event of the conversation then."""

    tracker: DialogueStateTracker
    stored_events: int
    last_id: int
    # when the conversation last used it (the store's clock)
    used: float = 0.0


def event_row(sender_id: str, event: Any) -> Dict[str, Any]:
    """One event as a row of Rasa's `events` table, as `SQLTrackerStore.save` writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


_EVENT_COLUMNS = ("sender_id", "type_name", "timestamp", "intent_name", "action_name", "data")
_INSERT_EVENTS_SQL = f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES "


def _first_value(row: Any) -> Any:
    return row[0]


def _row(row: Any) -> Any:
    return row


# the per-turn check (how many events a conversation has) reads only this index; declared on Rasa's table,
# so Rasa's own `create_all` makes it with a new table
_SENDER_EVENTS_INDEX = sa.Index(
    "ix_events_sender_id_id", SQLTrackerStore.SQLEvent.__table__.c.sender_id, SQLTrackerStore.SQLEvent.__table__.c.id
)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL: readers never wait for the writer; NORMAL: a commit survives a crash of Rasa, only a power cut
    # can lose the last ones (as for the gateway's database, core/db.py)
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class CachedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that keeps the trackers it handled and appends only new events."""

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE,
                 cache_idle_seconds: float = DEFAULT_CACHE_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.engine.dispose()  # Rasa's engine, replaced below
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection for every session unless told to pool them
            self.engine = sa.create_engine(
                self.engine.url, poolclass=QueuePool, pool_size=2, connect_args={"check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            # every statement is a transaction of its own: BEGIN and COMMIT would be two more round trips each,
            # and the lock store already keeps a conversation's turns apart. A turn's statements go to the driver
            # (below), which notices a dropped connection itself; this engine serves Rasa's own reads (the whole
            # tracker for the HTTP API, the list of conversations), so its connections are pinged before use: after
            # a database restart, a dropped one reaching Rasa's fail-safe store would make it keep every
            # conversation in memory from then on
            self.engine = sa.create_engine(self.engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True,
                                           **create_engine_kwargs(self.engine.url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        table = self.SQLEvent.__table__
        # a table made by an earlier version of Rasa's store lacks it; another Rasa process starting at the
        # same moment may make it first
        try:
            _SENDER_EVENTS_INDEX.create(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:
            logger.info("the events index was made by another Rasa process")
        self._insert = table.insert()
        self._newest = sa.select(sa.func.max(table.c.id)).where(table.c.sender_id == sa.bindparam("s"))
        # Rasa's `_event_query` for the latest session (the events from the newest session start's timestamp on,
        # or all when none started), written once as Core statements: the ORM query cost more CPU than the
        # database did, on every new conversation and every tracker not kept here
        started = sa.select(sa.func.max(table.c.timestamp)).where(
            table.c.sender_id == sa.bindparam("s"), table.c.type_name == SessionStarted.type_name).scalar_subquery()
        in_session = sa.and_(table.c.sender_id == sa.bindparam("s"),
                             sa.or_(table.c.timestamp >= started, started.is_(None)))
        self._session_events = sa.select(table.c.id, table.c.data).where(in_session).order_by(table.c.id)
        self._session_count = sa.select(sa.func.count()).select_from(table).where(in_session)
        # on PostgreSQL the check and the save go straight to the driver, one round trip each (core/driver_sql.py)
        self._driver = None if self.engine.dialect.name == "sqlite" else DriverConnections(self.engine)
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._kept_lock = threading.Lock()
        self.cache_size = int(cache_size)
        self.cache_idle_seconds = float(cache_idle_seconds)
        if self.cache_size < 0 or self.cache_idle_seconds < 0:
            raise ValueError("rasa.tracker_cache_size and rasa.tracker_cache_idle_minutes must be >= 0")
        self.clock = clock
        # a database server's round trips run in threads, so Rasa's event loop goes on with other conversations
        # meanwhile; a SQLite file answers faster than a thread would start
        self._threads = None if self.engine.dialect.name == "sqlite" else ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="tracker-store")

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._threads is None:
            return function(*args)
        return await asyncio.get_running_loop().run_in_executor(self._threads, function, *args)

    def _again_on_lost_connection(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args, again=False)`; when its connection turned out dropped (the database restarted since it
        was last used: SQLAlchemy then discards every pooled connection), once more with `again=True` on a new one."""
        try:
            return function(*args, again=False)
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            logger.info("the tracker store's database connection was dropped; trying again on a new one")
            # the engine's pooled connections were dropped with it (a restart): a new pool
            self.engine.dispose()
            return function(*args, again=True)

    def _newest_id(self, connection: Any, sender_id: str) -> int:
        return int(connection.execute(self._newest, {"s": sender_id}).scalar() or 0)

    def _newest_read(self, sender_id: str) -> Read:
        return Read(self._newest, {"s": sender_id}, _first_value)

    def _newest_stored_id(self, sender_id: str) -> int:
        """The id of the conversation's newest stored event (0 when none)."""
        if self._driver is not None:
            return int(self._driver.read(self._newest_read(sender_id)) or 0)
        with self.engine.connect() as connection:
            return self._newest_id(connection, sender_id)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The conversation's latest session: the kept tracker when nothing changed it elsewhere."""
        return await self._run(self._again_on_lost_connection, self._retrieve_now, sender_id)

    def _retrieve_now(self, sender_id: str, again: bool = False) -> Optional[DialogueStateTracker]:
        kept = self._kept.get(sender_id)
        if kept is not None and len(kept.tracker.events) == kept.stored_events:
            if self._newest_stored_id(sender_id) == kept.last_id:
                with self._kept_lock:
                    if sender_id in self._kept:
                        self._kept.move_to_end(sender_id)
                    kept.used = self.clock()
                    self._forget_old(kept.used)
                return kept.tracker
        # not kept, changed by another process, or changed here without a save: the database decides
        rows = self._session_rows(sender_id)
        events = [json.loads(row.data) for row in rows]
        if not events or not self.domain:
            with self._kept_lock:
                self._kept.pop(sender_id, None)
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        # the newest row of the conversation is the newest of its latest session, read in the same query
        self._keep(sender_id, tracker, len(tracker.events), rows[-1].id)
        return tracker

    async def get_or_create_tracker(self, sender_id: str, max_event_history: Optional[int] = None,
                                    append_action_listen: bool = True) -> DialogueStateTracker:
        """Rasa's: the conversation's tracker, or a new one saved at once (`create_tracker`'s steps), here without
        counting the conversation's stored events first: the read just found none, under the conversation's lock."""
        self.max_event_history = max_event_history
        tracker = await self.retrieve(sender_id)
        if tracker is not None or not self.domain:
            # without a domain Rasa's read gives None whatever is stored: Rasa's own steps, counting
            return tracker or await self.create_tracker(sender_id, append_action_listen)
        tracker = self.init_tracker(sender_id)
        if append_action_listen:
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await self.stream_events(tracker)
        await self._run(self._again_on_lost_connection, self._save_now, tracker, 0)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Stores the events of `tracker` that are not stored yet."""
        await self.stream_events(tracker)
        await self._run(self._again_on_lost_connection, self._save_now, tracker)

    def _save_now(self, tracker: DialogueStateTracker, stored_before: Optional[int] = None,
                  again: bool = False) -> None:
        """`stored_before`: how many of the conversation's events are known to be stored (None: this store's
        kept tracker says, or the database is asked)."""
        sender_id = tracker.sender_id
        kept = self._kept.get(sender_id)
        if again:
            # the first attempt's insert may have reached the database before the connection dropped
            kept, stored_before = None, None
        if stored_before is not None:
            stored = stored_before
        elif kept is not None and kept.tracker is tracker:
            stored = kept.stored_events
        else:
            # a tracker this process did not hand out (the HTTP API, a conversation read long ago): count as Rasa
            stored = self._session_event_count(sender_id)
        rows = [event_row(sender_id, event) for event in itertools.islice(tracker.events, stored, None)]
        if not rows:
            last_id = kept.last_id if kept is not None and kept.tracker is tracker else \
                self._newest_stored_id(sender_id)
        elif self._driver is not None:
            # the insert and the newest id in one round trip; not repeated by the driver on a dropped connection
            # (this store counts what is stored first: _again_on_lost_connection)
            values, parameters = driver_values(rows, _EVENT_COLUMNS, "e", {})
            last_id = int(self._driver.write_and_read(f"{_INSERT_EVENTS_SQL}{values}", parameters,
                                                      self._newest_read(sender_id), repeat_on_drop=False))
        else:
            # one executemany INSERT and a SELECT: an INSERT ... VALUES (...), (...) RETURNING is one statement less
            # but builds its parameters anew each time (0.73 against 0.47 ms of CPU a save)
            with self.engine.begin() as connection:
                connection.execute(self._insert, rows)
                last_id = self._newest_id(connection, sender_id)
        self._keep(sender_id, tracker, len(tracker.events), last_id)

    def _session_rows(self, sender_id: str) -> List[Any]:
        """The id and JSON of every event of the conversation's latest session, oldest first."""
        if self._driver is not None:
            return self._driver.read_all(Read(self._session_events, {"s": sender_id}, _row))
        with self.engine.connect() as connection:
            return list(connection.execute(self._session_events, {"s": sender_id}).all())

    def _session_event_count(self, sender_id: str) -> int:
        """How many events of the conversation's latest session are stored."""
        if self._driver is not None:
            return int(self._driver.read(Read(self._session_count, {"s": sender_id}, _first_value)) or 0)
        with self.engine.connect() as connection:
            return int(connection.execute(self._session_count, {"s": sender_id}).scalar() or 0)

    def _keep(self, sender_id: str, tracker: DialogueStateTracker, stored_events: int, last_id: int) -> None:
        with self._kept_lock:
            now = self.clock()
            self._kept[sender_id] = _Kept(tracker, stored_events, last_id, now)
            self._kept.move_to_end(sender_id)
            self._forget_old(now)

    def _forget_old(self, now: float) -> None:
        # least recently used first, so the idle ones are at the front (called under _kept_lock)
        while self._kept and (len(self._kept) > self.cache_size
                              or next(iter(self._kept.values())).used < now - self.cache_idle_seconds):
            self._kept.popitem(last=False)

    def kept_count(self) -> int:
        """How many trackers are kept in memory now."""
        return len(self._kept)
