"""Rasa down, slow, failing or silent: the customer is told within seconds, nothing hangs, and it recovers."""

from __future__ import annotations

import time

from tests.gateway.conftest import bot_text, open_conversation, receive_until, resuming


def is_notice(code):
    return lambda frame: frame["type"] == "notice" and frame["code"] == code


def is_bot_message(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


async def test_rasa_not_running_gives_a_clear_notice_at_once(make_client, gateway_config):
    client = await make_client(gateway_config, rasa_url="http://127.0.0.1:9")
    ws, _ = await open_conversation(client)
    started = time.monotonic()
    await ws.send_json({"type": "message", "client_id": "d1", "text": "在吗"})
    frames = await receive_until(ws, is_notice("bot_unavailable"), timeout=5)
    assert time.monotonic() - started < 3
    assert "暂时无法回复" in frames[-1]["text"]
    assert {"type": "typing", "on": False} in frames or frames.count({"type": "typing", "on": True}) == 0


async def test_a_slow_bot_is_announced_then_its_late_reply_still_arrives(client, stand_in_rasa):
    stand_in_rasa.mode, stand_in_rasa.delay = "slow", 0.8
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "s", "text": "慢一点"})
    frames = await receive_until(ws, is_bot_message, timeout=5)
    codes = [f.get("code") for f in frames if f["type"] == "notice"]
    assert codes == ["bot_slow", "bot_available"]
    assert frames[-1]["text"] == "收到：慢一点"


async def test_a_bot_slower_than_the_timeout_is_reported_unavailable_and_nothing_hangs(client, stand_in_rasa):
    stand_in_rasa.mode, stand_in_rasa.delay = "slow", 10
    ws, _ = await open_conversation(client)
    started = time.monotonic()
    await ws.send_json({"type": "message", "client_id": "t", "text": "超时"})
    await receive_until(ws, is_notice("bot_slow"), timeout=2)
    await receive_until(ws, is_notice("bot_unavailable"), timeout=3)
    assert time.monotonic() - started < 3
    # the gateway keeps serving: another customer still gets pong and acks
    other, _ = await open_conversation(client)
    await other.send_json({"type": "ping"})
    assert await receive_until(other, lambda f: f["type"] == "pong", timeout=1)


async def test_rasa_errors_and_empty_replies_are_reported_and_the_conversation_recovers(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    for number, mode in enumerate(["error", "silent"]):
        stand_in_rasa.mode = mode
        await ws.send_json({"type": "message", "client_id": f"x{number}", "text": "有人吗"})
        await receive_until(ws, is_notice("bot_unavailable"))
    stand_in_rasa.mode = "answer"
    await ws.send_json({"type": "message", "client_id": "back", "text": "恢复了吗"})
    frames = await receive_until(ws, is_bot_message)
    assert is_notice("bot_available")(next(f for f in frames if f["type"] == "notice"))
    assert frames[-1]["text"] == "收到：恢复了吗"


async def test_a_client_that_reconnects_while_the_bot_is_down_is_told_again(make_client, gateway_config):
    client = await make_client(gateway_config, rasa_url="http://127.0.0.1:9")
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "r", "text": "在吗"})
    await receive_until(ws, is_notice("bot_unavailable"))
    await ws.close()
    again = await client.ws_connect("/chat/socket")
    await again.send_json({"type": "hello", **resuming(welcome)})
    assert await receive_until(again, is_notice("bot_unavailable"))


async def test_health_reports_whether_rasa_is_up(make_client, gateway_config, client, stand_in_rasa):
    assert await (await client.get("/health")).json() == {
        "gateway": "ok", "rasa": "up", "rasa_processes": {stand_in_rasa.url: "up"}}
    down = await make_client(gateway_config, rasa_url="http://127.0.0.1:9")
    assert await (await down.get("/health")).json() == {
        "gateway": "ok", "rasa": "down", "rasa_processes": {"http://127.0.0.1:9": "down"}}
    # with two Rasa processes, one down: the bot is up, and the health says which one is down
    both = await make_client(gateway_config, rasa_url=f"{stand_in_rasa.url},http://127.0.0.1:9")
    assert await (await both.get("/health")).json() == {
        "gateway": "ok", "rasa": "up",
        "rasa_processes": {stand_in_rasa.url: "up", "http://127.0.0.1:9": "down"}}


async def test_a_conversation_keeps_to_one_rasa_and_moves_when_it_refuses(make_client, gateway_config,
                                                                          stand_in_rasa):
    from bot.gateway.keys import RASA

    client = await make_client(gateway_config, rasa_url=f"{stand_in_rasa.url},http://127.0.0.1:9")
    rasa = client.server.app[RASA]
    # conversations spread over both processes, each always to the same one
    owners = {f"c{n}": rasa.order_for(f"c{n}")[0] for n in range(40)}
    assert set(owners.values()) == {0, 1}
    assert all(rasa.order_for(c)[0] == owner for c, owner in owners.items())
    # a conversation whose own Rasa refuses is answered by the other at once, with no notice to the customer
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "m1", "text": "运费多少"})
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot", timeout=5)
    assert bot_text(frames) == ["收到：运费多少"]
    assert not any(f["type"] == "notice" for f in frames)
