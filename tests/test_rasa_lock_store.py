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
