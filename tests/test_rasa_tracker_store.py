"""The tracker store Rasa runs with (bot/rasa_tracker_store.py), on SQLite and on this machine's PostgreSQL:
conversations survive a restart with their slots, another process's events are seen, a tracker changed
without a save is not handed out, only new events are written, and Rasa's own SQL store reads the rows."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_endpoints import tracker_store_endpoint
from bot.rasa_tracker_store import CachedSQLTrackerStore
from core.settings import PROJECT_ROOT
from tests.conftest import postgres_schema

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A database URL of each kind, empty."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trackers.db'}"
        return
    with postgres_schema() as url:
        yield url


def open_store(url: str, store_class=CachedSQLTrackerStore):
    """A store as Rasa builds it from the endpoints file the product writes (a new process, in effect)."""
    entry = dict(tracker_store_endpoint(url))
    entry.pop("type")
    host = entry.pop("url", None)
    return store_class(host=host, domain=DOMAIN, event_broker=None, **entry)


def event_rows(store, sender_id: str) -> int:
    table = store.SQLEvent.__table__
    with store.engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.sender_id == sender_id)
        ).scalar()


def turn(tracker, text: str, failures: int) -> None:
    tracker.update(UserUttered(text, {"name": "faq", "confidence": 0.97}))
    tracker.update(ActionExecuted("action_answer_faq"))
    tracker.update(BotUttered("退款原路返回", {"buttons": [{"title": "转人工", "payload": "/handoff"}]}))
    tracker.update(SlotSet("failure_count", failures))
    tracker.update(ActionExecuted("action_listen"))


async def test_a_saved_conversation_is_the_same_tracker_and_only_new_events_are_written(store_url):
    store = open_store(store_url)
    tracker = await store.get_or_create_tracker("c1")
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    assert event_rows(store, "c1") == len(tracker.events)
    again = await store.retrieve("c1")
    assert again is tracker, "the kept tracker should be handed out, not rebuilt"
    turn(again, "怎么开发票", 2)
    await store.save(again)
    assert event_rows(store, "c1") == len(again.events) == 11, "each event is stored once"


async def test_a_restarted_rasa_continues_the_conversation_with_its_slots(store_url):
    first = open_store(store_url)
    tracker = await first.get_or_create_tracker("c2")
    turn(tracker, "退款多久到账", 2)
    await first.save(tracker)
    first.engine.dispose()
    restarted = open_store(store_url)
    read = await restarted.retrieve("c2")
    assert read is not None and read.get_slot("failure_count") == 2
    assert [e.as_dict() for e in read.events] == [e.as_dict() for e in tracker.events]
    # Rasa's own SQL store reads the same rows
    theirs = await open_store(store_url, SQLTrackerStore).retrieve("c2")
    assert [e.as_dict() for e in theirs.events] == [e.as_dict() for e in tracker.events]


async def test_events_another_process_stored_are_seen_by_the_next_retrieve(store_url):
    here, elsewhere = open_store(store_url), open_store(store_url)
    tracker = await here.get_or_create_tracker("c3")
    turn(tracker, "退款多久到账", 1)
    await here.save(tracker)
    theirs = await elsewhere.retrieve("c3")
    turn(theirs, "还是没到", 3)
    await elsewhere.save(theirs)
    read = await here.retrieve("c3")
    assert read is not tracker and read.get_slot("failure_count") == 3 and len(read.events) == 11
    # and the tracker read again is kept from then on
    turn(read, "转人工", 0)
    await here.save(read)
    assert await here.retrieve("c3") is read and event_rows(here, "c3") == 16


async def test_a_tracker_changed_but_not_saved_is_not_handed_out(store_url):
    store = open_store(store_url)
    tracker = await store.get_or_create_tracker("c4")
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    # a turn that failed half way: the user's message applied, nothing saved
    tracker.update(UserUttered("这条没有保存", {"name": "faq", "confidence": 0.9}))
    tracker.update(SlotSet("failure_count", 9))
    read = await store.retrieve("c4")
    assert read is not tracker and read.get_slot("failure_count") == 1 and len(read.events) == 6
    await store.save(read)
    assert event_rows(store, "c4") == 6


async def test_only_the_latest_session_is_handed_out(store_url):
    store = open_store(store_url)
    tracker = await store.get_or_create_tracker("c5")
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted(timestamp=tracker.events[-1].timestamp + 1))
    tracker.update(ActionExecuted("action_listen", timestamp=tracker.events[-1].timestamp + 2))
    await store.save(tracker)
    fresh = await open_store(store_url).retrieve("c5")
    assert isinstance(fresh.events[0], SessionStarted) and len(fresh.events) == 2
    assert event_rows(store, "c5") == 9


async def test_the_latest_session_and_its_count_are_those_of_rasas_own_query(store_url):
    store = open_store(store_url)
    tracker = await store.get_or_create_tracker("q1")
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    for number in (2, 3):  # two more sessions, each with a turn
        tracker.update(ActionExecuted("action_session_start"))
        tracker.update(SessionStarted())
        tracker.update(ActionExecuted("action_listen"))
        turn(tracker, "还是没到", number)
        await store.save(tracker)
    await open_store(store_url).get_or_create_tracker("q2")  # a conversation without a session start
    # the last session: its start, listening, one turn; the other conversation: its one event; none
    for sender, expected in (("q1", 7), ("q2", 1), ("nobody", 0)):
        with store.session_scope() as session:
            theirs = store._event_query(session, sender, fetch_events_from_all_sessions=False).all()
            their_count = store._event_query(session, sender, fetch_events_from_all_sessions=False).count()
        ours = store._session_rows(sender)
        assert [(row.id, row.data) for row in ours] == [(row.id, row.data) for row in theirs]
        assert store._session_event_count(sender) == their_count == len(ours) == expected


async def test_a_new_conversation_is_saved_without_counting_its_events(store_url):
    store = open_store(store_url)
    counted = []
    count = store._session_event_count
    store._session_event_count = lambda sender: counted.append(sender) or count(sender)
    tracker = await store.get_or_create_tracker("n1")  # found nothing, created and saved at once
    theirs = await open_store(store_url, SQLTrackerStore).get_or_create_tracker("n1-rasa")
    assert [e.as_dict() | {"timestamp": 0} for e in tracker.events] == \
        [e.as_dict() | {"timestamp": 0} for e in theirs.events], "what Rasa's own store creates"
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    assert counted == [] and event_rows(store, "n1") == len(tracker.events) == 6
    assert await open_store(store_url).retrieve("n1") is not None
    # a conversation without the initial listening (Rasa's tracker API asks so)
    bare = await store.get_or_create_tracker("n3", append_action_listen=False)
    assert len(bare.events) == 0
    assert counted == [] and event_rows(store, "n3") == 0


async def test_a_tracker_saved_after_its_conversation_was_found_empty_but_not_created_here_is_counted_first(
        store_url):
    store, elsewhere = open_store(store_url), open_store(store_url)
    assert await store.retrieve("n2") is None
    # meanwhile another process starts the conversation
    theirs = await elsewhere.get_or_create_tracker("n2")
    turn(theirs, "退款多久到账", 1)
    await elsewhere.save(theirs)
    # a tracker this store did not hand out (as Rasa's HTTP API saves one): counted, so nothing is stored twice
    copy = DialogueStateTracker.from_dict("n2", [e.as_dict() for e in theirs.events], DOMAIN.slots)
    turn(copy, "还是没到", 2)
    await store.save(copy)
    assert event_rows(store, "n2") == 11


def test_a_bad_tracker_store_url_names_the_setting():
    with pytest.raises(ValueError, match="rasa.tracker_store_url"):
        tracker_store_endpoint("not a url")


def test_concurrent_saves_of_different_conversations_lose_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'trackers.db'}"
    store = open_store(url)

    async def converse(sender: str) -> None:
        tracker = await store.get_or_create_tracker(sender)
        for number in range(3):
            turn(tracker, f"第{number}个问题", number)
            await store.save(tracker)
            tracker = await store.retrieve(sender)

    async def everyone() -> None:
        await asyncio.gather(*(converse(f"s{i}") for i in range(20)))

    asyncio.run(everyone())
    assert all(event_rows(store, f"s{i}") == 16 for i in range(20))


def open_store_with(url: str, **options):
    """A store as open_store makes it, with these cache options (as the endpoints file passes them)."""
    entry = dict(tracker_store_endpoint(url))
    entry.pop("type")
    host = entry.pop("url", None)
    return CachedSQLTrackerStore(host=host, domain=DOMAIN, event_broker=None, **entry, **options)


async def test_kept_trackers_are_bounded_and_an_evicted_one_is_read_back_from_sql(store_url):
    store = open_store_with(store_url, cache_size=2)
    trackers = {}
    for number in range(1, 5):
        tracker = await store.get_or_create_tracker(f"lru{number}")
        turn(tracker, f"第{number}个问题", number)
        await store.save(tracker)
        trackers[number] = tracker
    assert store.kept_count() == 2
    assert await store.retrieve("lru4") is trackers[4], "a recent conversation is still kept"
    read = await store.retrieve("lru1")
    assert read is not trackers[1], "an evicted conversation is read from SQL"
    assert [e.as_dict() for e in read.events] == [e.as_dict() for e in trackers[1].events]
    assert read.get_slot("failure_count") == 1
    # it goes on from there: each event stored once, and another process reads the whole conversation
    turn(read, "还有一个问题", 5)
    await store.save(read)
    assert event_rows(store, "lru1") == len(read.events) == 11
    assert store.kept_count() == 2
    other = await open_store(store_url).retrieve("lru1")
    assert [e.as_dict() for e in other.events] == [e.as_dict() for e in read.events]


async def test_kept_trackers_expire_once_idle(store_url):
    now = [1000.0]
    store = open_store_with(store_url, cache_idle_seconds=60, clock=lambda: now[0])
    first = await store.get_or_create_tracker("idle1")
    turn(first, "退款多久到账", 1)
    await store.save(first)
    now[0] += 30
    second = await store.get_or_create_tracker("idle2")
    turn(second, "怎么开发票", 2)
    await store.save(second)
    now[0] += 40  # the first has been idle 70 s, the second 40 s
    assert await store.retrieve("idle2") is second
    assert store.kept_count() == 1
    read = await store.retrieve("idle1")
    assert read is not first and [e.as_dict() for e in read.events] == [e.as_dict() for e in first.events]


def test_the_cache_settings_reach_the_store_through_the_endpoints_file(tmp_path):
    from bot.rasa_endpoints import endpoints

    entry = endpoints("http://127.0.0.1:5055/webhook", {
        "tracker_store_url": f"sqlite:///{tmp_path / 'trackers.db'}", "tracker_cache_size": 7,
        "tracker_cache_idle_minutes": 2})["tracker_store"]
    assert entry["cache_size"] == 7 and entry["cache_idle_seconds"] == 120
    entry.pop("type")
    store = CachedSQLTrackerStore(host=entry.pop("url", None), domain=DOMAIN, event_broker=None, **entry)
    assert store.cache_size == 7 and store.cache_idle_seconds == 120


def statements_of(store) -> list:
    """The first word of every statement the store's engine sends to the database from now on."""
    sent = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: sent.append(args[2].split()[0].upper()))
    return sent


async def one_turn_saved(url: str, sender: str):
    """A new store on `url` and a conversation `sender` with one turn saved in it."""
    store = open_store(url)
    tracker = await store.get_or_create_tracker(sender)
    turn(tracker, "退款多久到账", 1)
    await store.save(tracker)
    return store, tracker


async def test_on_postgresql_a_turn_is_two_round_trips_on_the_driver_without_ping_begin_or_commit():
    with postgres_schema() as url:
        store, tracker = await one_turn_saved(url, "rt1")
        sent = statements_of(store)
        # the first turn prepared the check and the save's insert and newest-id read on the store's connection
        assert store._driver.prepares >= 3 and len(store._driver._preparables) == store._driver.prepares
        for number in (2, 3):
            trips, prepares = store._driver.round_trips, store._driver.prepares
            tracker = await store.retrieve("rt1")
            turn(tracker, "怎么开发票", number)
            await store.save(tracker)
            # the check, then the insert with the newest id: no ping, BEGIN or COMMIT, nothing through SQLAlchemy
            assert store._driver.round_trips - trips == 2 and sent == []
            # every statement prepared on its first use (the first turn), run by name after
            assert store._driver.prepares - prepares == 0
        assert None not in store._driver._preparables.values()
        assert await open_store(url).retrieve("rt1") is not None and event_rows(store, "rt1") == 16
        store.engine.dispose()


def drop_idle_connections(url: str) -> int:
    """What a PostgreSQL restart does to the connections a pool holds: ends every idle one of the database."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as admin:
        ended = len(admin.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'")).all())
    engine.dispose()
    return ended


async def test_after_postgresql_drops_the_connections_the_next_turn_works_and_nothing_is_stored_twice(caplog):
    with postgres_schema() as url:
        store, tracker = await one_turn_saved(url, "rt2")
        caplog.set_level("INFO", logger="bot.rasa_tracker_store")
        assert drop_idle_connections(url) >= 1
        read = await store.retrieve("rt2")
        assert read is tracker, "the check ran again on a new connection"
        turn(read, "怎么开发票", 2)
        assert drop_idle_connections(url) >= 1
        await store.save(read)
        assert caplog.text.count("connection was dropped") == 1, "the save met a dropped one and counted again"
        fresh = open_store(url)
        assert event_rows(fresh, "rt2") == 11, "each event stored once"
        read_back = await fresh.retrieve("rt2")
        assert read_back.get_slot("failure_count") == 2 and len(read_back.events) == 11
        store.engine.dispose()
        fresh.engine.dispose()


async def test_a_save_whose_connection_drops_after_the_insert_is_not_stored_twice():
    import psycopg2
    from sqlalchemy.exc import DBAPIError

    with postgres_schema() as url:
        store, tracker = await one_turn_saved(url, "rt3")
        dropped = []
        write_and_read = store._driver.write_and_read

        def drop_after_the_insert(sql, parameters, read, **options):
            # the insert is committed (autocommit), then the answer never arrives: the client cannot know
            found = write_and_read(sql, parameters, read, **options)
            if sql.startswith("INSERT") and not dropped:
                dropped.append(sql)
                raise DBAPIError.instance(sql, parameters, psycopg2.OperationalError("server closed the connection"),
                                          psycopg2.Error, connection_invalidated=True)
            return found

        store._driver.write_and_read = drop_after_the_insert
        turn(tracker, "怎么开发票", 2)
        await store.save(tracker)
        assert dropped, "the insert met the dropped connection"
        assert event_rows(store, "rt3") == 11, "the second attempt counted what the first had stored"
        assert await store.retrieve("rt3") is tracker
        store.engine.dispose()


async def test_after_postgresql_drops_the_connections_rasas_own_full_tracker_read_still_works():
    # Rasa's fail-safe store falls back to memory for good on the first error of a read: the whole tracker (what
    # Rasa's HTTP API reads) must survive a restart of the database too, though a turn never uses that pool
    with postgres_schema() as url:
        store, tracker = await one_turn_saved(url, "rt4")
        full = await store.retrieve_full_tracker("rt4")  # Rasa's ORM read: a connection in SQLAlchemy's pool
        assert full is not None and len(full.events) == len(tracker.events)
        assert drop_idle_connections(url) >= 1
        again = await store.retrieve_full_tracker("rt4")
        assert again is not None and [e.as_dict() for e in again.events] == [e.as_dict() for e in tracker.events]
        store.engine.dispose()
