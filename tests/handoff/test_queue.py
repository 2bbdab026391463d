"""The ticket queue on SQLite and PostgreSQL: order, atomic taking under concurrency, stale agents,
restarts, and the ticket's life from waiting to rated."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from bot.gateway.store import ConversationStore
from core.db import create_database_engine
from handoff.accounts import AgentDirectory
from handoff.queue import TicketError, TicketQueue
from handoff.schema import agents, tickets


def conversation(engine, **metadata) -> str:
    return ConversationStore(engine).create_conversation(metadata)


def agent(engine, username: str) -> int:
    return AgentDirectory(engine).add(username, username, "password-123").id


def test_waiting_order_is_priority_then_waiting_time(engine):
    queue = TicketQueue(engine)
    low = queue.open(conversation(engine), reason="request_human", detail="", priority=10)[0]
    time.sleep(0.01)
    high = queue.open(conversation(engine), reason="complaint", detail="投诉", priority=20)[0]
    time.sleep(0.01)
    low_later = queue.open(conversation(engine), reason="request_human", detail="", priority=10)[0]
    assert [t.id for t in queue.waiting()] == [high.id, low.id, low_later.id]
    taker = agent(engine, "li")
    assert [queue.take_next(taker).id for _ in range(3)] == [high.id, low.id, low_later.id]
    assert queue.take_next(taker) is None


def test_a_conversation_has_one_open_ticket_and_can_ask_again_after_resolution(engine):
    queue = TicketQueue(engine)
    chat = conversation(engine)
    first, created = queue.open(chat, reason="request_human", detail="", priority=10)
    again, created_again = queue.open(chat, reason="complaint", detail="", priority=20)
    assert created and not created_again and again.id == first.id
    taker = agent(engine, "li")
    queue.take_next(taker)
    queue.resolve(first.id, taker, "已处理")
    third, created_third = queue.open(chat, reason="request_human", detail="", priority=10)
    assert created_third and third.id != first.id


def test_twenty_agents_taking_from_two_hundred_tickets_take_each_exactly_once(database_url):
    setup = create_database_engine(database_url)
    queue = TicketQueue(setup)
    opened = {queue.open(conversation(setup), reason="request_human", detail="", priority=n % 3 * 10)[0].id
              for n in range(200)}
    agent_ids = [agent(setup, f"agent{n:02d}") for n in range(20)]
    taken: list = []
    lock = threading.Lock()
    start = threading.Barrier(len(agent_ids))
    failures: list = []

    def work(agent_id: int) -> None:
        engine = create_database_engine(database_url)  # each agent its own connection pool, like separate processes
        own = TicketQueue(engine)
        start.wait()
        try:
            while True:
                ticket = own.take_next(agent_id)
                if ticket is None:
                    return
                with lock:
                    taken.append((ticket.id, agent_id))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(a,)) for a in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    counts = Counter(ticket_id for ticket_id, _ in taken)
    assert set(counts) == opened and max(counts.values()) == 1
    stored = {t.id: t.agent_id for a in agent_ids for t in queue.assigned_to(a)}
    assert stored == dict(taken)
    assert len({a for _, a in taken}) > 1, "the work should spread over several agents"


def test_gateways_opening_a_ticket_for_one_conversation_at_once_get_one_ticket(database_url):
    setup = create_database_engine(database_url)
    chats = [conversation(setup) for _ in range(10)]
    start = threading.Barrier(8)
    opened: list = []
    failures: list = []
    lock = threading.Lock()

    def gateway() -> None:
        engine = create_database_engine(database_url)  # a pool of its own, like another gateway process
        queue = TicketQueue(engine)
        start.wait()
        try:
            for chat in chats:
                ticket, created = queue.open(chat, reason="request_human", detail="", priority=10)
                with lock:
                    opened.append((chat, ticket.id, created))
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(repr(error))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=gateway) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    for chat in chats:
        answers = [(ticket_id, created) for c, ticket_id, created in opened if c == chat]
        assert len(answers) == 8 and len({ticket_id for ticket_id, _ in answers}) == 1
        assert sum(created for _, created in answers) == 1
    # and the database itself refuses a second open live ticket for a conversation
    chat = chats[0]
    with pytest.raises(IntegrityError), setup.begin() as connection:
        connection.execute(insert(tickets).values(
            conversation_id=chat, kind="live", reason="complaint", reason_detail="", priority=20, status="waiting",
            transcript=[], created_at=datetime.now(timezone.utc),
        ))
    setup.dispose()


def test_a_ticket_whose_agent_disappeared_returns_to_the_queue_with_its_history(engine):
    queue = TicketQueue(engine)
    directory = AgentDirectory(engine)
    chat = conversation(engine)
    ticket = queue.open(chat, reason="request_human", detail="", priority=10,
                        transcript=[{"seq": 1, "sender": "customer", "text": "转人工"}])[0]
    gone, present = agent(engine, "gone"), agent(engine, "present")
    directory.touch(gone)
    directory.touch(present)
    assert queue.take_next(gone).id == ticket.id
    assert queue.requeue_stale(agent_timeout_seconds=60) == []
    with engine.begin() as connection:
        connection.execute(update(agents).where(agents.c.id == gone).values(
            last_seen_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
    requeued = queue.requeue_stale(agent_timeout_seconds=60)
    assert [t.id for t in requeued] == [ticket.id]
    back = queue.get(ticket.id)
    assert back.status == "waiting" and back.agent_id is None and back.transcript[0]["text"] == "转人工"
    assert back.created_at == ticket.created_at
    assert queue.take_next(present).id == ticket.id


def test_only_the_owner_works_a_ticket_and_its_life_ends_with_a_rating(engine):
    queue = TicketQueue(engine)
    chat = conversation(engine)
    ticket = queue.open(chat, reason="complaint", detail="太差了", priority=20)[0]
    owner, other = agent(engine, "owner"), agent(engine, "other")
    queue.take_next(owner)
    with pytest.raises(TicketError) as refused:
        queue.note_agent_reply(ticket.id, other)
    assert refused.value.code == "not_your_ticket"
    replied = queue.note_agent_reply(ticket.id, owner)
    assert replied.first_agent_reply_at is not None
    moved = queue.transfer(ticket.id, owner, other)
    assert moved.agent_id == other
    with pytest.raises(TicketError):
        queue.resolve(ticket.id, owner, "不是我的了")
    with pytest.raises(TicketError) as not_yet:
        queue.rate(ticket.id, chat, 5, "")
    assert not_yet.value.code == "no_ticket"
    done = queue.resolve(ticket.id, other, "已补发")
    assert done.status == "resolved" and done.resolution_note == "已补发" and done.resolved_at
    with pytest.raises(TicketError) as closed:
        queue.note_agent_reply(ticket.id, other)
    assert closed.value.code == "ticket_closed"
    with pytest.raises(TicketError):
        queue.rate(ticket.id, "someone-else", 1, "")
    rated = queue.rate(ticket.id, chat, 4, "挺快的")
    assert (rated.rating, rated.rating_comment) == (4, "挺快的")


def test_a_customer_can_cancel_waiting(engine):
    queue = TicketQueue(engine)
    chat = conversation(engine)
    ticket = queue.open(chat, reason="request_human", detail="", priority=10)[0]
    assert queue.cancel(chat).status == "abandoned"
    assert queue.open_ticket_for(chat) is None and queue.take_next(agent(engine, "li")) is None
    assert queue.get(ticket.id).status == "abandoned"


def test_nothing_is_lost_when_every_process_restarts(database_url):
    first = create_database_engine(database_url)
    queue = TicketQueue(first)
    chat = conversation(first, customer_id="C1")
    store = ConversationStore(first)
    store.append(chat, "customer", "我要投诉", client_id="c1")
    ticket = queue.open(chat, reason="complaint", detail="投诉", priority=20, customer_id="C1")[0]
    first.dispose()
    second = create_database_engine(database_url)
    assert TicketQueue(second).get(ticket.id).status == "waiting"
    assert [m.text for m in ConversationStore(second).history(chat)] == ["我要投诉"]
    second.dispose()


def test_average_handling_time_needs_enough_tickets(engine):
    queue = TicketQueue(engine)
    taker = agent(engine, "li")
    for _ in range(3):
        ticket = queue.open(conversation(engine), reason="request_human", detail="", priority=10)[0]
        queue.take_next(taker)
        queue.resolve(ticket.id, taker, "")
    assert queue.average_handling_seconds(at_least=5) is None
    assert queue.average_handling_seconds(at_least=3) >= 0


def test_migrations_build_the_schema_from_nothing_and_can_go_down_and_up_again(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from core.settings import PROJECT_ROOT

    engine = create_database_engine(database_url)
    expected = {"conversations", "messages", "agents", "agent_sessions", "tickets", "alembic_version"}
    assert expected <= set(inspect(engine).get_table_names())
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not ({"tickets", "messages"} & set(inspect(engine).get_table_names()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert expected <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_database_url_selects_the_database(monkeypatch):
    from core.settings import load_settings

    assert load_settings(environ={"DATABASE_URL": "postgresql://x@h/db"})["database"]["url"] == "postgresql://x@h/db"
    both = {"DATABASE_URL": "postgresql://x@h/db", "SHOP_DATABASE_URL": "sqlite:///other.db"}
    assert load_settings(environ=both)["database"]["url"] == "sqlite:///other.db"
    assert load_settings(environ={})["database"]["url"] == "sqlite:///var/shop.db"
