"""Rate limits kept in Redis (bot/gateway/rate_limit.py) on this machine's Redis: a customer message's two buckets
(its conversation's, then its address's) are asked in one call, with the answers one call each would give."""

from __future__ import annotations

import uuid

import pytest
import redis
import redis.asyncio as redis_asyncio

from bot.gateway.rate_limit import RateLimiter, RedisRateLimiter, take_in_turn

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def client():
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    shared = redis_asyncio.from_url(REDIS)
    yield shared
    await shared.close()


def tokens_left(limiter: RedisRateLimiter, key: str) -> float:
    return float(redis.Redis.from_url(REDIS).hget(limiter.prefix + key, "tokens"))


async def test_both_buckets_in_one_call_to_redis(client):
    prefix = f"test:rate:{uuid.uuid4().hex}:"
    conversation = RedisRateLimiter(client, 3, 1, prefix + "conversation:")
    address = RedisRateLimiter(client, 5, 1, prefix + "address:")
    # Redis may not know the script yet (a new Redis, or one restarted): redis-py then loads it once
    await take_in_turn([(conversation, "warm-up"), (address, "warm-up")])
    calls = []
    original = client.execute_command

    async def counting(*args, **options):
        calls.append(args[0])
        return await original(*args, **options)

    client.execute_command = counting
    assert await take_in_turn([(conversation, "c1"), (address, "1.2.3.4")]) == (None, 0)
    assert calls == ["EVALSHA"], calls
    assert tokens_left(conversation, "c1") == pytest.approx(2, abs=0.01)
    assert tokens_left(address, "1.2.3.4") == pytest.approx(4, abs=0.01)


async def test_a_full_conversation_is_refused_without_charging_the_address(client):
    prefix = f"test:rate:{uuid.uuid4().hex}:"
    conversation = RedisRateLimiter(client, 2, 1, prefix + "conversation:")
    address = RedisRateLimiter(client, 10, 1, prefix + "address:")
    answers = [await take_in_turn([(conversation, "c1"), (address, "a")]) for _ in range(3)]
    assert [refused for refused, _ in answers] == [None, None, 0]
    assert answers[-1][1] >= 50, "a token a minute: about a minute to wait"
    assert tokens_left(address, "a") == pytest.approx(8, abs=0.01), "the refused message took no address token"


async def test_a_busy_address_is_refused_after_the_conversation_is_charged(client):
    prefix = f"test:rate:{uuid.uuid4().hex}:"
    conversation = RedisRateLimiter(client, 10, 1, prefix + "conversation:")
    address = RedisRateLimiter(client, 1, 2, prefix + "address:")
    assert (await take_in_turn([(conversation, "c2"), (address, "b")]))[0] is None
    refused, wait = await take_in_turn([(conversation, "c3"), (address, "b")])
    assert refused == 1 and 1 <= wait <= 31
    # the same as asking each bucket with its own call
    assert tokens_left(conversation, "c3") == pytest.approx(9, abs=0.01)
    assert (await address.check("b"))[0] is False


async def test_buckets_in_this_process_are_asked_one_after_another():
    first, second = RateLimiter(1, 1), RateLimiter(5, 1)
    assert await take_in_turn([(first, "k"), (second, "k")]) == (None, 0)
    refused, wait = await take_in_turn([(first, "k"), (second, "k")])
    assert refused == 0 and wait >= 1
    assert second.take("k")[0] and len(second) == 1
