"""Two gateway replicas behind nginx, with the real Rasa processes: a customer through nginx on one replica and
an agent on the other see each other live, from 转人工 to the rating; the health page names every process."""

from __future__ import annotations

import json

import aiohttp
import pytest

from core.db import create_database_engine
from handoff.accounts import AgentDirectory

pytestmark = pytest.mark.slow


async def frames_until(ws, predicate, timeout: float = 20.0):
    seen = []
    while True:
        received = await ws.receive(timeout=timeout)
        assert received.type == aiohttp.WSMsgType.TEXT, f"socket closed: {received}"
        frame = json.loads(received.data)
        seen.append(frame)
        if predicate(frame):
            return seen


async def test_a_customer_through_nginx_and_an_agent_on_the_other_gateway(scaled):
    engine = create_database_engine(scaled.database_url)
    directory = AgentDirectory(engine)
    directory.add("zhao", "小赵", "secret-pass-1")
    engine.dispose()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(scaled.public_url + "/chat/socket", headers={"Origin": scaled.public_url})
        customer_gateway = ws._response.headers["X-Shop-Gateway"]  # noqa: SLF001
        # the agent works on the other replica, straight to its port
        other = next(url for url, name in zip(scaled.gateway_urls, ("gateway-1", "gateway-2"), strict=False)
                     if name != customer_gateway)
        login = await http.post(other + "/console/api/login", json={"username": "zhao", "password": "secret-pass-1"})
        token = (await login.json())["token"]
        agent = {"Authorization": f"Bearer {token}"}
        console = await http.ws_connect(other + "/console/socket", headers=agent)
        assert login.headers["X-Shop-Gateway"] != customer_gateway

        await ws.send_json({"type": "hello"})
        welcome = (await frames_until(ws, lambda f: f["type"] == "welcome"))[-1]
        await ws.send_json({"type": "message", "client_id": "q1", "text": "退款多久能到账"})
        answer = (await frames_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot"))[-1]
        assert "退" in answer["text"], "the real bot answers first"

        await ws.send_json({"type": "message", "client_id": "h1", "text": "转人工"})
        await frames_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "waiting")
        # the queue change made on the customer's gateway reaches the console on the other one (other tests'
        # tickets may be waiting too)
        mine = None
        while mine is None:
            queue = (await frames_until(console, lambda f: f["type"] == "queue"))[-1]
            mine = next((t for t in queue["waiting"] if t["conversation_id"] == welcome["session_id"]), None)

        ticket = await (await http.post(f"{other}/console/api/tickets/{mine['id']}/take", headers=agent)).json()
        assert [line["text"] for line in ticket["transcript"]][:2] == ["退款多久能到账", answer["text"]]
        await frames_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "assigned")
        await http.post(f"{other}/console/api/tickets/{ticket['id']}/messages", json={"text": "您好，我是小赵"},
                        headers=agent)
        said = (await frames_until(ws, lambda f: f["type"] == "message" and f["sender"] == "agent"))[-1]
        assert said["text"] == "您好，我是小赵" and said["agent"] == {"name": "小赵"}

        await ws.send_json({"type": "message", "client_id": "c2", "text": "好的，订单号2024061812345678"})
        fed = await frames_until(
            console, lambda f: f["type"] == "message" and "2024061812345678" in f["message"]["text"])
        assert fed[-1]["ticket_id"] == ticket["id"]

        await http.post(f"{other}/console/api/tickets/{ticket['id']}/resolve", json={"note": "已处理"}, headers=agent)
        await frames_until(ws, lambda f: f["type"] == "rating_request")
        await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 4, "comment": "不错"})
        await frames_until(ws, lambda f: f["type"] == "message" and "感谢您的评价" in f["text"])
        rated = await (await http.get(f"{other}/console/api/tickets/{ticket['id']}", headers=agent)).json()
        assert (rated["rating"], rated["rating_comment"]) == (4, "不错")
        await console.close()
        await ws.close()


async def test_the_health_page_through_nginx_names_every_rasa_process(scaled):
    async with aiohttp.ClientSession() as http:
        health = await (await http.get(scaled.public_url + "/health")).json()
    assert health["rasa"] == "up"
    assert set(health["rasa_processes"]) == set(scaled.rasa_urls)
    assert set(health["rasa_processes"].values()) == {"up"}
