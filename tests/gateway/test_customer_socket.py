"""The customer WebSocket with aiohttp's test client: every frame type, history, dedup, and every bad input."""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType

from tests.gateway.conftest import bot_text, open_conversation, receive_until, resuming, signed


def is_bot_message(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


async def test_the_typing_dots_show_while_a_slower_bot_works_and_go_with_its_answer(client, stand_in_rasa):
    stand_in_rasa.mode, stand_in_rasa.delay = "slow", 0.6  # past bot_typing_after_seconds (0.3 here)
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "t1", "text": "退款多久到账"})
    frames = await receive_until(ws, is_bot_message, timeout=5)
    typing = [f["on"] for f in frames if f["type"] == "typing"]
    assert typing == [True, False]
    assert frames.index({"type": "typing", "on": False}) < frames.index(frames[-1])


async def test_hello_starts_a_conversation_and_a_message_gets_ack_echo_and_reply(client, stand_in_rasa):
    ws, welcome = await open_conversation(client)
    assert welcome["resumed"] is False and len(welcome["session_id"]) >= 20
    assert welcome["limits"]["max_length"] == 10000
    await ws.send_json({"type": "message", "client_id": "c1", "text": "退款多久到账"})
    frames = await receive_until(ws, is_bot_message)
    kinds = [f["type"] for f in frames]
    # a quick answer comes without the typing dots flickering on and off
    assert "ack" in kinds and "typing" not in kinds
    echo = next(f for f in frames if f["type"] == "message" and f["sender"] == "customer")
    ack = next(f for f in frames if f["type"] == "ack")
    assert echo["client_id"] == ack["client_id"] == "c1" and echo["id"] == ack["id"] and echo["seq"] == 1
    assert bot_text(frames) == ["收到：退款多久到账"]
    assert stand_in_rasa.received[0]["sender"] == welcome["session_id"]
    assert stand_in_rasa.received[0]["input_channel"] == "widget"


async def test_ping_is_answered(client):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "ping"})
    assert (await receive_until(ws, lambda f: f["type"] == "pong"))[-1] == {"type": "pong"}


async def test_reconnect_with_the_session_id_resumes_and_sends_only_newer_messages(client):
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "a", "text": "第一句"})
    await receive_until(ws, is_bot_message)
    await ws.close()

    full = await client.ws_connect("/chat/socket")
    await full.send_json({"type": "hello", **resuming(welcome), "last_seq": 0})
    frames = await receive_until(full, lambda f: f["type"] == "message" and f["seq"] == 2)
    assert frames[0]["type"] == "welcome" and frames[0]["resumed"] is True
    assert [f["text"] for f in frames[1:]] == ["第一句", "收到：第一句"]

    newer = await client.ws_connect("/chat/socket")
    await newer.send_json({"type": "hello", **resuming(welcome), "last_seq": 1})
    frames = await receive_until(newer, lambda f: f["type"] == "message")
    assert [f["seq"] for f in frames if f["type"] == "message"] == [2]


async def test_a_message_resent_after_a_dropped_connection_is_stored_and_answered_once(client, stand_in_rasa):
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "same", "text": "运费谁出"})
    first = await receive_until(ws, lambda f: f["type"] == "ack")
    await receive_until(ws, is_bot_message)
    await ws.close()
    again, _ = await open_conversation(client, **resuming(welcome), last_seq=2)
    await again.send_json({"type": "message", "client_id": "same", "text": "运费谁出"})
    second = await receive_until(again, lambda f: f["type"] == "ack")
    assert second[-1]["id"] == first[-1]["id"]
    await asyncio.sleep(0.3)
    assert len(stand_in_rasa.received) == 1
    history = await (await client.post("/chat/api/hello", json=resuming(welcome))).json()
    assert [m["text"] for m in history["messages"]] == ["运费谁出", "收到：运费谁出"]


async def test_every_tab_of_a_conversation_sees_every_message(client):
    first, welcome = await open_conversation(client)
    second, _ = await open_conversation(client, **resuming(welcome))
    await first.send_json({"type": "message", "client_id": "t1", "text": "两个标签页"})
    frames = await receive_until(second, is_bot_message)
    assert [f["text"] for f in frames if f["type"] == "message"] == ["两个标签页", "收到：两个标签页"]


async def test_anything_can_push_a_message_into_a_conversation(client):
    from bot.gateway.keys import HUB

    ws, welcome = await open_conversation(client)
    hub = client.server.app[HUB]
    await hub.post(welcome["session_id"], "agent", "您好，我是客服小李", extra={"agent": {"name": "小李"}})
    frame = (await receive_until(ws, lambda f: f["type"] == "message"))[-1]
    assert frame["sender"] == "agent" and frame["agent"] == {"name": "小李"} and frame["text"] == "您好，我是客服小李"


async def test_buttons_reach_the_widget_and_a_clicked_payload_goes_to_rasa(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "b1", "text": "给我按钮"})
    frames = await receive_until(ws, lambda f: is_bot_message(f) and f["buttons"])
    button = frames[-1]["buttons"][0]
    assert button == {"title": "退款多久到账？", "payload": '/faq{"faq_key":"refund_arrival_time"}'}
    await ws.send_json({"type": "message", "client_id": "b2", "text": button["title"], "payload": button["payload"]})
    await receive_until(ws, lambda f: is_bot_message(f) and "faq_key" in f["text"])
    assert stand_in_rasa.received[-1]["message"] == button["payload"]


async def test_a_payload_the_bot_never_offered_is_sent_as_typed_text(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "p1", "text": "你好", "payload": "/restart"})
    await receive_until(ws, is_bot_message)
    assert stand_in_rasa.received[-1]["message"] == "你好"


async def test_typed_text_starting_with_a_slash_is_not_an_intent_command(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "s1", "text": "/restart"})
    await receive_until(ws, is_bot_message)
    assert stand_in_rasa.received[-1]["message"] == "／restart"


async def test_shop_metadata_reaches_the_bot_and_is_kept_with_the_conversation(client, stand_in_rasa):
    from bot.gateway.keys import HUB

    metadata = {"page_url": "https://shop/p/1", "order_number": "2024061812345678", "password": "never kept"}
    ws, welcome = await open_conversation(client, metadata=metadata, identity=signed("C10086", "vip"))
    await ws.send_json({"type": "message", "client_id": "m1", "text": "在吗", "metadata": {"page_url": "https://shop/cart"}})
    await receive_until(ws, is_bot_message)
    sent = stand_in_rasa.received[-1]["metadata"]
    assert sent == {"customer_id": "C10086", "tier": "vip", "page_url": "https://shop/cart",
                    "order_number": "2024061812345678"}
    stored = await client.server.app[HUB].shop_metadata(welcome["session_id"])
    assert stored == sent


async def test_empty_and_whitespace_messages_are_refused(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    for text in ["", "   \n\t  ", "\u200b\u200b"]:
        await ws.send_json({"type": "message", "client_id": "e", "text": text})
        error = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
        assert error["code"] == "empty" and error["client_id"] == "e" and "空消息" in error["text"]
    assert stand_in_rasa.received == []


async def test_ten_thousand_characters_pass_and_one_more_is_refused_with_the_limit_named(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "ok", "text": "好" * 10000})
    assert (await receive_until(ws, lambda f: f["type"] in ("ack", "error")))[-1]["type"] == "ack"
    await ws.send_json({"type": "message", "client_id": "long", "text": "好" * 10001})
    error = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "too_long" and "10000" in error["text"]


async def test_control_characters_are_removed_and_html_is_kept_as_plain_text(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    text = "<img src=x onerror=alert(1)>\x00\x07你好\x1b\u202e"
    await ws.send_json({"type": "message", "client_id": "h", "text": text})
    frames = await receive_until(ws, is_bot_message)
    echo = next(f for f in frames if f["type"] == "message" and f["sender"] == "customer")
    assert echo["text"] == "<img src=x onerror=alert(1)>你好"
    assert stand_in_rasa.received[-1]["message"] == "<img src=x onerror=alert(1)>你好"


async def test_invalid_json_and_binary_frames_get_an_error_and_the_connection_stays_open(client):
    ws, _ = await open_conversation(client)
    for bad in ["{not json", "[1, 2]", '{"no_type": 1}', '"text"']:
        await ws.send_str(bad)
        assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "invalid_json"
    await ws.send_bytes(b"\x00\x01")
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "invalid_json"
    await ws.send_json({"type": "ping"})
    assert (await receive_until(ws, lambda f: f["type"] == "pong"))


async def test_unknown_types_missing_fields_and_messages_before_hello_are_refused(client):
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "message", "client_id": "x", "text": "先说话"})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "not_started"
    await ws.send_json({"type": "hello"})
    await receive_until(ws, lambda f: f["type"] == "welcome")
    await ws.send_json({"type": "delete_everything"})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "unknown_type"
    for bad in [{"text": "没有编号"}, {"client_id": "a b", "text": "x"}, {"client_id": "c", "text": 5},
                {"client_id": "c", "text": "x", "payload": 7}]:
        await ws.send_json({"type": "message", **bad})
        assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "bad_field"
    await ws.send_json({"type": "hello", "last_seq": -1})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "bad_field"


async def test_an_unknown_session_id_starts_a_new_conversation(client):
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "hello", "session_id": "does-not-exist"})
    welcome = (await receive_until(ws, lambda f: f["type"] == "welcome"))[-1]
    assert welcome["resumed"] is False and welcome["session_id"] != "does-not-exist" and welcome["resume_token"]


async def test_a_flood_from_one_session_is_refused_politely_and_others_are_not_affected(client, stand_in_rasa):
    ws, _ = await open_conversation(client)
    codes = []
    for number in range(8):
        await ws.send_json({"type": "message", "client_id": f"f{number}", "text": f"第{number}条"})
        frame = (await receive_until(ws, lambda f: f["type"] in ("ack", "error")))[-1]
        codes.append(frame.get("code", "ack"))
        if frame["type"] == "error":
            assert frame["retry_after"] >= 1 and "太快" in frame["text"] and frame["client_id"] == f"f{number}"
    assert codes[:5] == ["ack"] * 5 and set(codes[5:]) == {"rate_limited"}
    other, _ = await open_conversation(client)
    await other.send_json({"type": "message", "client_id": "o", "text": "我是另一位顾客"})
    assert (await receive_until(other, lambda f: f["type"] in ("ack", "error")))[-1]["type"] == "ack"


async def test_websockets_from_other_origins_are_refused(client):
    import aiohttp

    try:
        await client.ws_connect("/chat/socket", headers={"Origin": "https://evil.example.net"})
        raise AssertionError("a foreign origin was allowed")
    except aiohttp.WSServerHandshakeError as error:
        assert error.status == 403
    own = f"http://{client.host}:{client.port}"
    for origin in [own, "https://shop.example.com"]:
        ws = await client.ws_connect("/chat/socket", headers={"Origin": origin})
        await ws.send_json({"type": "ping"})
        assert (await receive_until(ws, lambda f: f["type"] == "pong"))
        await ws.close()


async def test_an_oversized_frame_is_refused_and_a_huge_one_closes_only_that_socket(client):
    ws, _ = await open_conversation(client)
    await ws.send_str(json.dumps({"type": "message", "client_id": "big", "text": "x" * 300_000}))
    refused = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
    assert refused["code"] == "invalid_json" and "too_large" in refused["detail"]
    await ws.send_json({"type": "ping"})
    await receive_until(ws, lambda f: f["type"] == "pong")
    # past what the socket reads at all (1 MiB), aiohttp closes it (1009, as the WebSocket RFC says)
    await ws.send_str(json.dumps({"type": "message", "client_id": "huge", "text": "x" * 1_100_000}))
    closing = await ws.receive(timeout=5)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    other, _ = await open_conversation(client)
    await other.send_json({"type": "ping"})
    assert (await receive_until(other, lambda f: f["type"] == "pong"))


async def test_a_conversation_the_hello_starts_reads_no_history_or_state_and_a_resumed_one_does(client):
    from bot.gateway.keys import HUB, SERVICE

    hub, service = client.server.app[HUB], client.server.app[SERVICE]
    reads = []
    for owner, name in ((hub, "history"), (hub, "current_live"), (service, "state_frames")):
        original = getattr(owner, name)

        async def counted(*args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return await _original(*args, **kwargs)

        setattr(owner, name, counted)
    ws, welcome = await open_conversation(client)
    response = await client.post("/chat/api/hello", json={})
    started = await response.json()
    assert response.status == 200 and started["resumed"] is False
    assert (started["messages"], started["frames"], started["notice"], started["typing"]) == ([], [], None, False)
    assert reads == [], "a conversation started by the hello has nothing to read back"
    # what a new conversation sends first still arrives: the welcome, then the first answer
    await ws.send_json({"type": "message", "client_id": "n1", "text": "退款多久到账"})
    assert bot_text(await receive_until(ws, is_bot_message)) == ["收到：退款多久到账"]
    again = await client.ws_connect("/chat/socket")
    await again.send_json({"type": "hello", **resuming(welcome), "last_seq": 0})
    frames = await receive_until(again, lambda f: f["type"] == "message" and f["seq"] == 2)
    assert frames[0]["resumed"] is True and [f["text"] for f in frames[1:]] == ["退款多久到账", "收到：退款多久到账"]
    assert {"history", "current_live", "state_frames"} <= set(reads)
