"""What the gateway keeps in memory per key stays bounded: rate-limit buckets are forgotten once full again,
live states of conversations nobody is connected to are not kept (and are capped), and the Redis fan-out
forgets a conversation a long-poll client stopped waiting on."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis
import redis.asyncio as redis_asyncio

from bot.gateway import hub as hub_module
from bot.gateway.keys import HUB, RELAY
from bot.gateway.rate_limit import FORGET_EVERY_SECONDS, RateLimiter
from bot.gateway.redis_fan_out import RedisFanOut

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_the_in_memory_limiter_forgets_buckets_that_are_full_again_on_its_own():
    now = [0.0]
    limiter = RateLimiter(burst=5, per_minute=60, clock=lambda: now[0])  # full again 5 s after the last take
    for n in range(1000):
        limiter.take(f"203.0.113.{n}")
    assert len(limiter) == 1000
    now[0] = FORGET_EVERY_SECONDS + 1
    limiter.take("198.51.100.1")
    assert len(limiter) == 1, "idle buckets should go without anyone calling forget_idle"
    # a bucket still refilling is kept, so a flood cannot reset its count by waiting for a sweep
    slow = RateLimiter(burst=5, per_minute=0.5, clock=lambda: now[0])  # full again 600 s after the last take
    for _ in range(5):
        slow.take("flood")
    now[0] += FORGET_EVERY_SECONDS + 1
    slow.take("198.51.100.2")
    assert len(slow) == 2 and slow.take("flood")[0] is False


def _proof(welcome):
    return {"X-Resume-Token": welcome["resume_token"]} if "resume_token" in welcome else {}


async def test_no_live_state_is_kept_for_conversations_nobody_is_connected_to(client, stand_in_rasa):
    hub = client.server.app[HUB]
    stand_in_rasa.mode, stand_in_rasa.delay = "slow", 0.4  # the typing dots go on, then off
    for n in range(5):
        welcome = await (await client.post("/chat/api/hello", json={})).json()
        response = await client.post("/chat/api/messages", headers=_proof(welcome), json={
            "session_id": welcome["session_id"], "client_id": f"m{n}", "text": "退款多久到账"})
        assert response.status == 200
        events = await client.get(f"/chat/api/events?session_id={welcome['session_id']}&after=0",
                                  headers=_proof(welcome))
        assert events.status == 200
    await client.server.app[RELAY].drain()
    assert len(stand_in_rasa.received) == 5
    assert hub._live == {}, "idle live states of HTTP conversations should not be kept"


async def test_live_states_are_capped_oldest_unconnected_first(client, monkeypatch):
    monkeypatch.setattr(hub_module, "LIVE_STATE_LIMIT", 3)
    hub = client.server.app[HUB]
    connected = asyncio.Queue()
    hub.subscribe("connected", connected)
    hub.set_notice("connected", {"code": "bot_slow", "text": "慢"})
    for n in range(10):
        hub.set_notice(f"gone-{n}", {"code": "bot_unavailable", "text": "不可用"})
    assert len(hub._live) <= 3
    assert "connected" in hub._live and "gone-9" in hub._live
    hub.unsubscribe("connected", connected)


@pytest.fixture
async def two_fan_outs():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.fail(f"Redis at {REDIS_URL} does not answer (TEST_REDIS_URL)")
    clients = [redis_asyncio.from_url(REDIS_URL) for _ in range(2)]
    fan_outs = [RedisFanOut(client) for client in clients]
    for fan_out in fan_outs:
        await fan_out.start()
    yield fan_outs
    for fan_out in fan_outs:
        await fan_out.close()
    for client in clients:
        await client.close()


async def test_the_redis_fan_out_forgets_a_conversation_once_its_long_poll_ends(two_fan_outs):
    here, there = two_fan_outs
    conversation = f"poll-{uuid.uuid4().hex}"
    waiter = asyncio.ensure_future(here.wait_for_change(conversation, 30))
    for _ in range(300):  # until this gateway follows the conversation's channel
        await asyncio.sleep(0.05)
        there.publish(conversation, {"type": "message", "seq": 1, "sender": "bot", "text": "好的"})
        if waiter.done():
            break
    await asyncio.wait_for(waiter, 30)
    assert conversation not in here._last_seq and conversation not in here._polling
