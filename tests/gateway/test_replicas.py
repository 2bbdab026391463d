"""Two gateway replicas on this machine's PostgreSQL and Redis (no stand-ins for either): a customer on one
and an agent on the other see each other live, from 转人工 to the rating; rate limits and notices are shared."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis

from tests.conftest import postgres_schema
from tests.gateway.conftest import open_conversation, receive_until, resuming
from tests.gateway.test_handoff import add_agent, is_bot

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def shared_config(gateway_config):
    """The gateways' settings on a fresh PostgreSQL schema and this machine's Redis."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        pytest.fail(f"Redis at {REDIS_URL} does not answer (TEST_REDIS_URL); the replica tests need it")
    with postgres_schema() as url:
        yield gateway_config.__class__(**{**gateway_config.__dict__, "database_url": url, "redis_url": REDIS_URL})


@pytest.fixture
async def two_gateways(shared_config, make_client):
    first = await make_client(shared_config, replica="gateway-a")
    second = await make_client(shared_config, replica="gateway-b")
    return first, second


async def test_a_customer_on_one_gateway_and_an_agent_on_the_other_from_request_to_rating(two_gateways,
                                                                                         stand_in_rasa):
    customer_side, agent_side = two_gateways
    add_agent(agent_side, "li", "小李")
    token = (await (await agent_side.post("/console/api/login", json={
        "username": "li", "password": "secret-pass-1"})).json())["token"]
    li = {"Authorization": f"Bearer {token}"}
    console = await agent_side.ws_connect("/console/socket", headers=li)
    assert (await receive_until(console, lambda f: f["type"] == "queue"))[-1]["waiting"] == []

    ws, welcome = await open_conversation(customer_side)
    await ws.send_json({"type": "message", "client_id": "h1", "text": "转人工"})
    await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "waiting")
    # the queue change made on the customer's gateway reaches the console on the other one
    waiting = (await receive_until(console, lambda f: f["type"] == "queue" and f["waiting"], timeout=5))[-1]
    assert waiting["waiting"][0]["conversation_id"] == welcome["session_id"]

    ticket = await (await agent_side.post("/console/api/tickets/next", headers=li)).json()
    await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "assigned", timeout=5)
    await agent_side.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "您好，我是小李"}, headers=li)
    frame = (await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "agent", timeout=5))[-1]
    assert frame["text"] == "您好，我是小李"

    await ws.send_json({"type": "message", "client_id": "c2", "text": "快递一直没到"})
    pushed = await receive_until(console, lambda f: f["type"] == "message" and f["message"]["text"] == "快递一直没到",
                                 timeout=5)
    assert pushed[-1]["ticket_id"] == ticket["id"]
    assert not [b for b in stand_in_rasa.received if b["message"] == "快递一直没到"], "the bot stays out"

    await agent_side.post(f"/console/api/tickets/{ticket['id']}/resolve", json={"note": "已催件"}, headers=li)
    await receive_until(ws, lambda f: f["type"] == "rating_request", timeout=5)
    await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 5})
    await receive_until(ws, lambda f: is_bot(f) and "感谢您的评价" in f["text"], timeout=5)
    # one database: the rating given on the customer's gateway is what the agent's gateway reads
    stored = (await (await agent_side.get(f"/console/api/tickets/{ticket['id']}", headers=li)).json())
    assert stored["rating"] == 5 and stored["resolution_note"] == "已催件"
    await console.close()


async def test_a_customer_reconnecting_to_the_other_gateway_sees_the_notice_and_one_rate_limit(
        two_gateways, stand_in_rasa):
    first, second = two_gateways
    stand_in_rasa.mode = "error"
    ws, welcome = await open_conversation(first)
    await ws.send_json({"type": "message", "client_id": "m1", "text": "发票"})
    await receive_until(ws, lambda f: f["type"] == "notice" and f["code"] == "bot_unavailable", timeout=5)
    await ws.close()
    # the customer comes back through the other gateway: the notice is still shown
    again = await second.ws_connect("/chat/socket")
    await again.send_json({"type": "hello", **resuming(welcome)})
    frames = await receive_until(again, lambda f: f["type"] == "notice", timeout=5)
    assert frames[-1]["code"] == "bot_unavailable"
    # the burst is one bucket across both gateways (5 in the test settings, one taken already)
    stand_in_rasa.mode = "answer"
    for n in range(4):
        await again.send_json({"type": "message", "client_id": f"b{n}", "text": f"第{n}条"})
        await receive_until(again, lambda f: f["type"] == "ack", timeout=5)
    await again.send_json({"type": "message", "client_id": "b9", "text": "再一条"})
    refused = await receive_until(again, lambda f: f["type"] == "error", timeout=5)
    assert refused[-1]["code"] == "rate_limited"
    await asyncio.sleep(0)


async def test_after_a_quiet_spell_longer_than_the_socket_timeout_the_other_gateway_still_hears(
        two_gateways, stand_in_rasa, caplog):
    customer_side, agent_side = two_gateways
    add_agent(agent_side, "li", "小李")
    token = (await (await agent_side.post("/console/api/login", json={
        "username": "li", "password": "secret-pass-1"})).json())["token"]
    console = await agent_side.ws_connect("/console/socket", headers={"Authorization": f"Bearer {token}"})
    await receive_until(console, lambda f: f["type"] == "queue")
    # nothing published for longer than the Redis client's socket timeout (5 s)
    await asyncio.sleep(7)
    assert not [r for r in caplog.records if "lost Redis pub/sub" in r.getMessage()], "an idle listener stays up"
    ws, welcome = await open_conversation(customer_side)
    await ws.send_json({"type": "message", "client_id": "h1", "text": "转人工"})
    queue = (await receive_until(console, lambda f: f["type"] == "queue" and f["waiting"], timeout=3))[-1]
    assert queue["waiting"][0]["conversation_id"] == welcome["session_id"]
    await console.close()
