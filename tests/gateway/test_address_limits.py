"""Abuse limits per client address (bot/gateway/address_limits.py): new conversations, messages across
conversations, left messages and console logins, counted per address whatever conversation is named; refused
with 429 and Retry-After over HTTP, an error frame on the socket; shared by replicas through Redis. The test
client connects from 127.0.0.1, a trusted proxy by default, so X-Forwarded-For plays other customers."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.address_limits import client_address, trusted_networks
from bot.gateway.app import create_app
from bot.gateway.request_limits import refuse_login_flood
from tests.gateway.conftest import open_conversation, receive_until
from tests.gateway.test_replicas import shared_config  # noqa: F401 - the fixture, on PostgreSQL and Redis


def strict(**limits: float) -> Dict[str, float]:
    """Gateway settings with these per-address limits (e.g. conversations=(3, 1)); the others generous."""
    return {f"address_{kind}_{field}": value for kind, (burst, per_minute) in limits.items()
            for field, value in (("burst", burst), ("per_minute", per_minute))}


def credentials(welcome: Dict[str, Any]) -> Dict[str, Any]:
    """What a hello that resumes the conversation names it with."""
    return {key: welcome[key] for key in ("session_id", "resume_token") if key in welcome}


def proof(welcome: Dict[str, Any], address: str = "") -> Dict[str, str]:
    """The headers of a later HTTP call of this conversation (its resume token), from `address`."""
    headers = {"X-Resume-Token": welcome["resume_token"]} if "resume_token" in welcome else {}
    return {**headers, "X-Forwarded-For": address} if address else headers


async def http_hello(client: TestClient, address: str = "", **body: Any):
    headers = {"X-Forwarded-For": address} if address else {}
    return await client.post("/chat/api/hello", json=body, headers=headers)


async def test_new_conversations_from_one_address_are_refused_on_the_socket_and_over_http(
        make_client, gateway_config):
    client = await make_client(gateway_config, **strict(conversations=(3, 1)))
    welcomes = [(await open_conversation(client))[1] for _ in range(2)]
    assert (await http_hello(client)).status == 200
    # the fourth new conversation from 127.0.0.1: an error frame on the socket ...
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "hello"})
    refused = (await receive_until(ws, lambda f: f["type"] in ("welcome", "error")))[-1]
    assert refused["code"] == "too_many_conversations" and refused["retry_after"] >= 1
    assert "秒后再试" in refused["text"]
    # ... and 429 with Retry-After over HTTP
    response = await http_hello(client)
    body = await response.json()
    assert response.status == 429 and body["code"] == "too_many_conversations"
    assert int(response.headers["Retry-After"]) == body["retry_after"] >= 1
    # resuming a conversation is no new one
    resumed = await client.ws_connect("/chat/socket")
    await resumed.send_json({"type": "hello", **credentials(welcomes[0])})
    frames = await receive_until(resumed, lambda f: f["type"] in ("welcome", "error"))
    assert frames[-1]["type"] == "welcome" and frames[-1]["session_id"] == welcomes[0]["session_id"]
    # another customer, behind the same trusted proxy, has a budget of their own
    assert (await http_hello(client, "203.0.113.7")).status == 200


async def test_several_hellos_on_one_websocket_count_each_new_conversation(make_client, gateway_config):
    client = await make_client(gateway_config, **strict(conversations=(3, 1)))
    ws = await client.ws_connect("/chat/socket")
    answers = []
    for _ in range(6):
        await ws.send_json({"type": "hello"})
        answers.append((await receive_until(ws, lambda f: f["type"] in ("welcome", "error")))[-1])
    assert [a["type"] for a in answers] == ["welcome"] * 3 + ["error"] * 3
    assert len({a["session_id"] for a in answers[:3]}) == 3
    assert {a["code"] for a in answers[3:]} == {"too_many_conversations"}


async def test_messages_count_across_all_conversations_of_an_address(make_client, gateway_config):
    # 5 a conversation (the test settings), 6 for the whole address
    client = await make_client(gateway_config, **strict(messages=(6, 1)))
    first, _ = await open_conversation(client)
    for n in range(4):
        await first.send_json({"type": "message", "client_id": f"a{n}", "text": f"第{n}条"})
        await receive_until(first, lambda f: f["type"] == "ack")
    second = (await (await http_hello(client)).json())
    statuses = []
    for n in range(3):
        response = await client.post("/chat/api/messages", json={
            "session_id": second["session_id"], "client_id": f"b{n}", "text": f"另一个对话{n}"}, headers=proof(second))
        statuses.append(response.status)
    assert statuses == [200, 200, 429]
    body = await response.json()
    assert body["code"] == "rate_limited" and int(response.headers["Retry-After"]) == body["retry_after"] >= 1
    # a message re-sent after a dropped connection is acknowledged, not refused
    again = await client.post("/chat/api/messages", json={"session_id": second["session_id"], "client_id": "b0",
                                                           "text": "另一个对话0"}, headers=proof(second))
    assert again.status == 200
    # the same on the socket
    await first.send_json({"type": "message", "client_id": "a9", "text": "还有"})
    refused = (await receive_until(first, lambda f: f["type"] in ("ack", "error")))[-1]
    assert refused["code"] == "rate_limited" and refused["client_id"] == "a9"
    # another address is not held back by this one
    other = await (await http_hello(client, "198.51.100.20")).json()
    response = await client.post("/chat/api/messages", json={"session_id": other["session_id"], "client_id": "c0",
                                                              "text": "你好"}, headers=proof(other, "198.51.100.20"))
    assert response.status == 200


async def test_left_messages_are_limited_per_address(make_client, gateway_config):
    client = await make_client(gateway_config, **strict(leave_messages=(1, 1)))
    left = {"type": "leave_message", "text": "发票抬头开错了", "phone": "13800138000"}
    first = await (await http_hello(client)).json()
    response = await client.post("/chat/api/frames", json={"session_id": first["session_id"], **left},
                                 headers=proof(first))
    assert response.status == 200
    # a second conversation of the same address: no second ticket
    second = await (await http_hello(client)).json()
    response = await client.post("/chat/api/frames", json={"session_id": second["session_id"], **left},
                                 headers=proof(second))
    body = await response.json()
    assert response.status == 429 and body["code"] == "too_many_left_messages" and "留言" in body["text"]
    assert int(response.headers["Retry-After"]) >= 1
    ws, _ = await open_conversation(client)
    await ws.send_json(left)
    refused = await receive_until(ws, lambda f: f["type"] == "error")
    assert refused[-1]["code"] == "too_many_left_messages"


async def test_the_login_hook_refuses_an_address_after_its_burst(make_client, gateway_config):
    app = create_app(gateway_config.__class__(**{**gateway_config.__dict__, **strict(logins=(3, 1))}))

    async def login(request: web.Request) -> web.Response:
        await refuse_login_flood(request)
        return web.json_response({"error": "bad_credentials"}, status=401)

    app.router.add_post("/try-login", login)
    async with TestClient(TestServer(app)) as client:
        statuses = [(await client.post("/try-login")).status for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        response = await client.post("/try-login")
        body = await response.json()
        assert body["error"] == "too_many_attempts" and "登录尝试过于频繁" in body["message"]
        assert int(response.headers["Retry-After"]) == body["retry_after"] >= 1
        assert (await client.post("/try-login", headers={"X-Forwarded-For": "192.0.2.5"})).status == 401


@pytest.mark.parametrize("peer_trusted, forwarded, expected", [
    (True, None, "127.0.0.1"),
    (True, "203.0.113.9", "203.0.113.9"),
    # a client may write anything at the start of the header: the hop our proxy appended counts
    (True, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
    (True, "203.0.113.9, 127.0.0.1", "203.0.113.9"),
    (True, "not-an-address", "127.0.0.1"),
    (True, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    # a peer that is no trusted proxy is counted itself, whatever it forwards
    (False, "203.0.113.9", "127.0.0.1"),
])
async def test_the_client_address_believes_forwarded_hops_only_from_trusted_proxies(peer_trusted, forwarded,
                                                                                     expected):
    trusted = trusted_networks("127.0.0.1,::1" if peer_trusted else "10.0.0.0/8")

    async def address(request: web.Request) -> web.Response:
        return web.Response(text=client_address(request, trusted))

    app = web.Application()
    app.router.add_get("/", address)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/", headers={"X-Forwarded-For": forwarded} if forwarded else {})
        assert await response.text() == expected


def test_a_bad_trusted_proxy_setting_names_the_setting():
    with pytest.raises(ValueError, match="gateway.trusted_proxies"):
        trusted_networks("127.0.0.1, localhost")


async def test_replicas_count_an_address_together_in_redis(shared_config, make_client):  # noqa: F811
    limits = strict(conversations=(2, 1))
    # a fresh address, so buckets left in Redis by an earlier run do not count
    address = f"203.0.113.{__import__('random').randrange(1, 250)}"
    first = await make_client(shared_config, replica="gateway-a", **limits)
    second = await make_client(shared_config, replica="gateway-b", **limits)
    import redis

    redis.Redis.from_url(shared_config.redis_url).delete(f"shop:rate:address:conversations:{address}")
    assert (await http_hello(first, address)).status == 200
    assert (await http_hello(second, address)).status == 200
    response = await http_hello(first, address)
    assert response.status == 429 and "Retry-After" in response.headers


async def test_the_day_simulator_plays_each_customer_from_an_address_of_their_own(make_client, gateway_config):
    import aiohttp

    from tools.simulate_day import Simulator

    # one new conversation per address: the simulator's customers must not count as one client
    client = await make_client(gateway_config, **strict(conversations=(1, 0.01)))
    async with aiohttp.ClientSession() as http:
        simulator = Simulator(str(client.make_url("/")), http)
        results = [await asyncio.wait_for(simulator.replay(http, {"id": f"sim-{n}", "turns": [{"customer": "你好"}]}),
                                          20) for n in range(3)]
    assert [bool(result.session_id) for result in results] == [True, True, True]
    assert not any(result.errors for result in results)
