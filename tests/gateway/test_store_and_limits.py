"""The conversation store's ordering and deduplication, and the rate limiter's refill."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.gateway.hub import ConversationHub
from bot.gateway.protocol import ProtocolError, clean_metadata, clean_text
from bot.gateway.rate_limit import RateLimiter
from bot.gateway.store import ConversationStore
from core.db import create_database_engine, upgrade_schema
from tests.another_writer import writing_meanwhile


@pytest.fixture
def hub(database_url):
    engine = create_database_engine(database_url)
    hub = ConversationHub(ConversationStore(engine))
    yield hub
    hub.close()
    engine.dispose()


async def test_concurrent_posts_get_consecutive_seqs_and_a_repeated_client_id_is_stored_once(hub):
    conversation = await hub.start_conversation({"customer_id": "C1"})
    results = await asyncio.gather(
        *[hub.post(conversation, "customer", f"第{n}条", client_id=f"c{n % 40}") for n in range(60)]
    )
    stored = [message for message, duplicate in results if not duplicate]
    assert len(stored) == 40
    history = await hub.history(conversation)
    assert [m.seq for m in history] == list(range(1, 41))
    assert len({m.client_id for m in history}) == 40


async def test_the_bots_turn_stores_its_reading_and_replies_together_and_clients_see_no_reading(hub):
    conversation = await hub.start_conversation({})
    seen = asyncio.Queue()
    hub.subscribe(conversation, seen)
    asked, _ = await hub.post(conversation, "customer", "退款多久到账", client_id="1")
    reading = {"intent": "faq/refund_arrival_time", "confidence": 0.9, "entities": [], "faq_key": "refund_arrival_time",
               "kb_shown": ["refund_arrival_time"]}
    replies = await hub.post_bot_turn(conversation, asked, reading, [("退款会原路退回……", {}), ("还有问题吗？", {
        "buttons": [{"title": "转人工", "payload": "/handoff"}]})])
    assert [m.seq for m in replies] == [2, 3]
    history = await hub.history(conversation)
    assert history[0].reading == reading and history[1].reading is None
    assert history[0].to_transcript_line()["reading"] == reading
    frames = [seen.get_nowait() for _ in range(3)]
    assert [f["seq"] for f in frames] == [1, 2, 3] and not any("reading" in f for f in frames)
    assert frames[2]["buttons"][0]["payload"] == "/handoff"


def test_two_stores_writing_one_conversation_number_its_messages_without_gaps_or_repeats(database_url):
    # two gateways on one database: each remembers the last seq it wrote, the other one's writes make
    # that stale, and the unique seq sends it back to read the maximum
    url = database_url
    first, second = ConversationStore(create_database_engine(url)), ConversationStore(create_database_engine(url))
    conversation = first.create_conversation({})
    for n in range(6):
        writer = first if n % 3 else second
        writer.append(conversation, "customer", f"第{n}条", client_id=f"c{n}")
        (second if writer is first else first).append_bot_turn(conversation, None, None, [(f"答{n}", {})])
    history = first.history(conversation)
    assert [m.seq for m in history] == list(range(1, 13))
    assert [m.text for m in history][:4] == ["第0条", "答0", "第1条", "答1"]


async def test_history_survives_a_new_store_on_the_same_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    upgrade_schema(create_database_engine(url))
    first = ConversationHub(ConversationStore(create_database_engine(url)))
    conversation = await first.start_conversation({"tier": "vip"})
    await first.post(conversation, "customer", "重启前的消息", client_id="x")
    first.close()
    second = ConversationHub(ConversationStore(create_database_engine(url)))
    assert [m.text for m in await second.history(conversation)] == ["重启前的消息"]
    assert await second.shop_metadata(conversation) == {"tier": "vip"}
    second.close()


async def test_an_unknown_sender_is_refused(hub):
    conversation = await hub.start_conversation({})
    with pytest.raises(ValueError, match="unknown sender"):
        await hub.post(conversation, "robot", "x")


def test_the_rate_limiter_allows_a_burst_then_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(burst=3, per_minute=6, clock=lambda: now[0])
    assert [limiter.take("a")[0] for _ in range(4)] == [True, True, True, False]
    assert limiter.take("a") == (False, 10)
    assert limiter.take("b")[0] is True
    now[0] = 10.0
    assert limiter.take("a") == (True, 0)
    assert limiter.take("a")[0] is False
    now[0] = 10_000.0
    limiter.forget_idle(idle_seconds=60)
    assert limiter._buckets == {}


def test_text_cleaning_keeps_chinese_newlines_and_tabs_and_drops_invisible_characters():
    assert clean_text("  第一行\r\n第二行\t完\u200b\x00 ", 100) == "第一行\n第二行\t完"
    with pytest.raises(ProtocolError) as refused:
        clean_text("太长" * 6, 10)
    assert refused.value.code == "too_long" and "10" in refused.value.text


def test_metadata_keeps_known_keys_as_short_strings():
    cleaned = clean_metadata({"customer_id": 10086, "tier": "vip", "order_number": 2024061812345678,
                              "name": "王" * 500, "admin": True, "page_url": None})
    # who the customer is comes from the signed identity only (test_verified_customers.py)
    assert cleaned == {"order_number": "2024061812345678", "name": "王" * 200}
    assert clean_metadata("not a mapping") == {}


def test_new_metadata_waits_for_another_writer_instead_of_failing(tmp_path):
    """A hello's metadata (read, merged, written) beside another connection writing the same SQLite file: it
    waits for the lock, not "database is locked"."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_database_engine(url)
    upgrade_schema(engine)
    store = ConversationStore(engine)
    conversation = store.create_conversation({"page_url": "https://shop.example.com/p/1"})
    began = time.monotonic()
    with writing_meanwhile(url, "UPDATE conversations SET updated_at = updated_at WHERE id = :id",
                           {"id": conversation}):
        merged = store.update_metadata(conversation, {"product_id": "earbuds-pro"})
    assert merged == {"page_url": "https://shop.example.com/p/1", "product_id": "earbuds-pro"}
    assert time.monotonic() - began >= 0.3, "it waited for the other writer"
    engine.dispose()


def test_a_turn_stores_the_message_with_its_route_read_and_the_answer_once(database_url):
    from handoff.queue import TicketQueue, open_ticket_read

    engine = create_database_engine(database_url)
    store = ConversationStore(engine)
    conversation = store.create_conversation({})
    store.append(conversation, "customer", "你好", client_id="warm")

    asked, duplicate, ticket = store.append_and_read(conversation, "customer", "退款多久到账", "c1", None, None,
                                                     open_ticket_read(conversation))
    assert not duplicate and ticket is None
    assert asked.handling == "pending" and asked.handling_until > asked.created_at
    replies = store.append_bot_turn(conversation, asked.id, {"intent": "faq"},
                                    [("原路退回", {"buttons": [{"title": "好的", "payload": "/affirm"}]}),
                                     ("还有问题吗？", {})])
    assert [m.seq for m in replies] == [3, 4]
    # a second answer to the same message stores nothing; a re-sent message is the stored one
    assert store.append_bot_turn(conversation, asked.id, {"intent": "faq"}, [("又一个回答", {})]) is None
    again, duplicate, _ = store.append_and_read(conversation, "customer", "退款多久到账", "c1", None, None,
                                                open_ticket_read(conversation))
    assert duplicate and again.id == asked.id
    history = store.history(conversation)
    assert [(m.seq, m.text) for m in history] == [
        (1, "你好"), (2, "退款多久到账"), (3, "原路退回"), (4, "还有问题吗？")]
    assert history[1].reading == {"intent": "faq"} and history[1].handling == "answered"
    assert history[1].handling_until is None
    assert history[2].extra == {"buttons": [{"title": "好的", "payload": "/affirm"}]}
    assert history[2].handling is None and history[2].client_id is None

    # the bot asks for a person: the message waits for its ticket, with the decision kept
    person, _, _ = store.append_and_read(conversation, "customer", "转人工", "c2", "/human", None,
                                         open_ticket_read(conversation))
    said = store.append_bot_turn(conversation, person.id, {"intent": "human"}, [("正在为您转接", {})],
                                 handoff={"reason": "request_human", "priority": 10})
    assert [m.text for m in said] == ["正在为您转接"]
    kept = store.by_client_id(conversation, "c2")
    assert kept.handling == "handing_over" and kept.handoff == {"reason": "request_human", "priority": 10}
    assert kept.payload == "/human" and kept.handling_until is not None
    # the ticket is found by the next message's read, in its transaction
    opened, _ = TicketQueue(engine).open(conversation, reason="request_human", detail="转人工", priority=10,
                                        transcript=[])
    _, _, found = store.append_and_read(conversation, "customer", "人呢", "c3", None, None,
                                        open_ticket_read(conversation))
    assert found is not None and found.id == opened.id and found.status == "waiting"
    # a reading with no replies finishes the message; replies that answer no message are stored as they are
    third = store.by_client_id(conversation, "c3")
    assert store.append_bot_turn(conversation, third.id, {"intent": "greet"}, []) == []
    assert store.by_client_id(conversation, "c3").handling == "answered"
    assert store.append_bot_turn(conversation, third.id, {"intent": "greet"}, []) is None
    assert [m.seq for m in store.append_bot_turn(conversation, None, None, [("您好", {})])] == [8]
    assert [m.text for m in store.history(conversation, after_seq=5)] == ["正在为您转接", "人呢", "您好"]
    store.close()
    engine.dispose()


def test_on_postgresql_a_turn_is_two_round_trips_on_the_driver_of_prepared_statements():
    from sqlalchemy import event

    from handoff.queue import open_ticket_read
    from tests.conftest import postgres_schema

    with postgres_schema() as url:
        engine = create_database_engine(url)
        upgrade_schema(engine)
        store = ConversationStore(engine)
        conversation = store.create_conversation({})
        store.append(conversation, "customer", "你好", client_id="warm")  # the conversation's seq is known from now on
        through_sqlalchemy = []
        event.listen(engine, "before_cursor_execute", lambda *args: through_sqlalchemy.append(args[2]))
        for number in (1, 2):
            trips, prepares = store._driver.round_trips, store._driver.prepares
            asked, _, _ = store.append_and_read(conversation, "customer", "退款多久到账", f"c{number}", None, None,
                                                open_ticket_read(conversation))
            store.append_bot_turn(conversation, asked.id, {"intent": "faq"}, [("原路退回", {}), ("还有问题吗？", {})])
            assert store._driver.round_trips - trips == 2 and through_sqlalchemy == []
            # the first turn prepared the open-ticket read and the bot turn's statement (the message's insert was
            # prepared for the first message); the second runs all of them by name
            assert store._driver.prepares - prepares == (2 if number == 1 else 0)
        assert None not in store._driver._preparables.values()
        turn = ["退款多久到账", "原路退回", "还有问题吗？"]
        assert [m.text for m in store.history(conversation)] == ["你好", *turn, *turn]
        store.close()
        engine.dispose()


def test_on_postgresql_a_new_conversation_and_its_token_are_one_round_trip_and_read_back_as_stored():
    from sqlalchemy import event, select

    from bot.gateway import resume_tokens
    from tests.conftest import postgres_schema

    with postgres_schema() as url:
        engine = create_database_engine(url)
        upgrade_schema(engine)
        store = ConversationStore(engine)
        through_sqlalchemy = []
        event.listen(engine, "before_cursor_execute", lambda *args: through_sqlalchemy.append(args[2]))
        metadata = {"customer_id": "C7", "tier": "gold", "page_url": "https://shop.example.com/p/商品"}
        for number in (1, 2):
            trips = store._driver.round_trips
            conversation = store.create_conversation(metadata, f"{number:064x}")
            assert store._driver.round_trips - trips == 1 and through_sqlalchemy == []
        without_token = store.create_conversation({})
        through_sqlalchemy.clear()
        assert store.conversation_metadata(conversation) == metadata
        assert store.conversation_metadata(without_token) == {}
        assert store.conversation_of_token(f"{2:064x}") == conversation
        assert store.latest_conversation_of("C7") == conversation
        with engine.connect() as connection:
            assert connection.execute(select(resume_tokens.resume_tokens.c.token_hash).where(
                resume_tokens.resume_tokens.c.conversation_id == without_token)).all() == []
        # a verified customer's second device: the token is added, the oldest trimmed, as before
        for number in range(3, 3 + resume_tokens.TOKENS_PER_CONVERSATION + 1):
            store.add_resume_token(conversation, f"{number:064x}")
        assert store.conversation_of_token(f"{2:064x}") is None
        store.close()
        engine.dispose()
