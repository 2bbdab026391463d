"""The Redis lock store Rasa processes share (bot/rasa_lock_store.py): tickets issued for one conversation at the
same moment by several processes are all kept, in order, and a finished conversation leaves no lock behind."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_endpoints import lock_store_endpoint
from bot.rasa_lock_store import AtomicRedisLockStore

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def stores():
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    entry = dict(lock_store_endpoint(REDIS))
    kind, host = entry.pop("type"), entry.pop("url")
    assert kind == "bot.rasa_lock_store.AtomicRedisLockStore"
    # one store per simulated Rasa process, each with its own connection, as Rasa builds it from the endpoints
    return [AtomicRedisLockStore(endpoint_config=EndpointConfig(url=host, **entry)) for _ in range(6)]


def test_tickets_issued_at_once_by_several_processes_are_all_kept(stores):
    conversation = f"lock-test-{uuid.uuid4().hex}"
    issued = []
    start = threading.Barrier(len(stores))

    def process(store):
        start.wait()
        for _ in range(30):
            issued.append(store.issue_ticket(conversation, 60))

    threads = [threading.Thread(target=process, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lock = stores[0].get_lock(conversation)
    assert len(set(issued)) == len(issued) == 180, "no ticket number given twice"
    assert sorted(t.number for t in lock.tickets) == sorted(issued), "no ticket lost"
    for number in sorted(issued):
        assert not lock.is_locked(number) or number != lock.now_serving
        stores[number % len(stores)].cleanup(conversation, number)
        lock = stores[0].get_lock(conversation)
        assert lock is None or lock.now_serving == number + 1
    assert stores[0].get_lock(conversation) is None, "the lock is gone once nobody waits"


def test_a_lock_nobody_holds_is_not_created_by_a_cleanup(stores):
    conversation = f"lock-test-{uuid.uuid4().hex}"
    stores[0].cleanup(conversation, 3)
    stores[0].update_lock(conversation)
    assert stores[0].get_lock(conversation) is None


def counted_commands(store) -> list:
    """The names of the Redis commands the store sends from now on."""
    sent = []
    original = store.red.execute_command

    def counting(*args, **options):
        sent.append(str(args[0]).upper())
        return original(*args, **options)

    store.red.execute_command = counting
    return sent


async def test_a_message_that_finds_no_lock_costs_two_redis_calls_and_leaves_none(stores):
    store = stores[0]
    conversation = f"lock-test-{uuid.uuid4().hex}"
    sent = counted_commands(store)
    async with store.lock(conversation, 60, 0.01) as lock:
        assert lock.now_serving == 0 and not lock.is_locked(0)
        assert redis.Redis.from_url(REDIS).get(store.key_prefix + conversation) is not None, "held while handled"
    assert sent == ["EVALSHA", "EVALSHA"], sent
    assert store.get_lock(conversation) is None, "the lock is gone once nobody waits"


async def test_messages_of_one_conversation_through_several_processes_are_handled_one_at_a_time_in_order(stores):
    import asyncio

    conversation = f"lock-test-{uuid.uuid4().hex}"
    holding, order, overlaps = [], [], []

    async def message(number: int) -> None:
        await asyncio.sleep(0.002 * number)  # they arrive in this order, each while earlier ones are handled
        async with stores[number % len(stores)].lock(conversation, 60, 0.005):
            if holding:
                overlaps.append(number)
            holding.append(number)
            await asyncio.sleep(0.01)
            order.append(number)
            holding.remove(number)

    await asyncio.gather(*(message(n) for n in range(24)))
    assert not overlaps, f"handled while another held the lock: {overlaps}"
    assert order == list(range(24)), "handled in the order they arrived"
    assert stores[0].get_lock(conversation) is None
