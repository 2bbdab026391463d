"""Two Rasa processes on the PostgreSQL tracker store and Rasa's Redis lock store: messages to one conversation
sent to both at once are each handled whole, one after another, and none is lost; a restarted Rasa keeps the
conversation and its slots."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/gateway/webhook"


async def test_concurrent_messages_to_one_conversation_on_two_rasa_processes_are_handled_in_turn(scaled):
    sender = f"lock-{uuid.uuid4().hex[:8]}"
    texts = [f"第{n}个问题：退款多久能到账" for n in range(10)]
    async with aiohttp.ClientSession() as http:
        async def send(n: int):
            url = scaled.rasa_urls[n % 2] + WEBHOOK
            async with http.post(url, json={"sender": sender, "message": texts[n]}) as response:
                assert response.status == 200
                return await response.json()

        # each process answers once before the test (a restart of Redis or PostgreSQL by an earlier test may
        # have left a connection to drop)
        for url in scaled.rasa_urls:
            async with http.post(url + WEBHOOK, json={"sender": f"warm-{uuid.uuid4().hex[:6]}", "message": "你好"}):
                pass
        answers = await asyncio.gather(*(send(n) for n in range(10)))
        assert all(answer["messages"] for answer in answers), "every message is answered"
        async with http.get(scaled.rasa_api(scaled.rasa_urls[0], f"/conversations/{sender}/tracker")) as response:
            tracker = await response.json()
    events = tracker["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    assert sorted(said) == sorted(texts), "none lost, none twice"
    # handled in turn: each message's whole turn (its actions, its replies, back to listening) comes before the
    # next message is read, whichever process handled it
    turns = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif turns:
            turns[-1].append(event)
    assert len(turns) == 10
    for turn in turns:
        actions = [e.get("name") for e in turn if e["event"] == "action"]
        assert actions and actions[-1] == "action_listen" and "action_listen" not in actions[:-1], actions
        assert any(e["event"] == "bot" for e in turn)


async def test_a_restarted_rasa_keeps_the_conversation_and_its_slots(scaled):
    sender = f"restart-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as http:
        async def say(text: str, process: int = 0):
            async with http.post(scaled.rasa_urls[process] + WEBHOOK, json={"sender": sender, "message": text}) as r:
                return await r.json()

        async def slot(process: int):
            tracker = scaled.rasa_api(scaled.rasa_urls[process], f"/conversations/{sender}/tracker")
            async with http.get(tracker) as response:
                return (await response.json())["slots"]["failure_count"]

        await say("qwerty asdf zxcv")
        assert await slot(0) == 1.0
        scaled.kill("Rasa 1")
        # the other process continues the conversation meanwhile, from the shared tracker store
        await say("zxcv qwerty", process=1)
        assert await slot(1) == 2.0
        scaled.start("Rasa 1")
        assert await slot(0) == 2.0, "the restarted process reads what the other one stored"
