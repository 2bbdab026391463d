"""The handoff through the gateway: tickets before words, routing to the agent, the console API,
handing back to the bot, ratings, cancelling, left messages, VIPs, anger, stale agents."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from bot.gateway.keys import HANDOFF
from handoff.schema import agents
from tests.gateway.conftest import open_conversation, receive_until, resuming, signed, token_of


def is_bot(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


def desk_of(client):
    return client.server.app[HANDOFF]


def add_agent(client, username: str, name: str, role: str = "agent", online: bool = True):
    desk = desk_of(client)
    agent = desk.directory.add(username, name, "secret-pass-1", role)
    if online:
        desk.directory.touch(agent.id)
    return agent


async def log_in(client, username: str) -> dict:
    response = await client.post("/console/api/login", json={"username": username, "password": "secret-pass-1"})
    assert response.status == 200
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def ask_for_person(client, **hello):
    ws, welcome = await open_conversation(client, **hello)
    await ws.send_json({"type": "message", "client_id": "h1", "text": "能让别人来处理吗"})
    frames = await receive_until(ws, lambda f: f["type"] == "queue")
    return ws, welcome, frames


async def test_asking_for_a_person_writes_the_ticket_before_telling_the_customer(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome, frames = await ask_for_person(client)
    told = next(f for f in frames if is_bot(f))
    assert "已为您转接人工客服" in told["text"] and "您是下一位" in told["text"]
    handoff = next(f for f in frames if f["type"] == "handoff")
    assert handoff["state"] == "waiting"
    ticket = desk_of(client).queue.get(handoff["ticket_id"])
    assert ticket.conversation_id == welcome["session_id"] and ticket.reason == "request_human"
    assert ticket.created_at <= datetime.fromisoformat(told["created_at"])
    assert frames[-1]["position"] == 1 and frames[-1]["eta_seconds"] > 0
    # the customer's words reach the transcript with what the bot understood
    first = ticket.transcript[0]
    assert first["text"] == "能让别人来处理吗" and first["reading"]["intent"] == "request_human"


async def test_asking_for_a_person_in_words_inside_a_question_needs_no_bot(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "w", "text": "修改地址的按钮是灰的，改不了，转人工"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    ticket = desk_of(client).queue.open_ticket_for(welcome["session_id"])
    assert ticket.reason == "request_human" and "转人工" in ticket.reason_detail
    assert stand_in_rasa.received == []


async def test_the_button_asks_for_a_person_without_the_bot(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "b", "text": "转人工", "payload": "/handoff"})
    frames = await receive_until(ws, lambda f: f["type"] == "queue")
    assert any(f["type"] == "handoff" and f["state"] == "waiting" for f in frames)
    assert stand_in_rasa.received == []


async def test_the_whole_handoff_from_queue_to_rating_through_the_console_api(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    add_agent(client, "wang", "小王")
    ws, welcome, _ = await ask_for_person(client, identity=signed("C7", "gold"))
    await ws.send_json({"type": "message", "client_id": "w1", "text": "我的订单2024061812345678少发了一件"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    await asyncio.sleep(0.1)
    assert len(stand_in_rasa.received) == 1, "while waiting for a person, nothing goes to the bot"

    li = await log_in(client, "li")
    queue = await (await client.get("/console/api/queue", headers=li)).json()
    assert [t["customer_id"] for t in queue["waiting"]] == ["C7"] and queue["waiting"][0]["position"] == 1
    assert queue["waiting"][0]["preview"] == "我的订单2024061812345678少发了一件"

    taken = await client.post("/console/api/tickets/next", headers=li)
    ticket = await taken.json()
    assert taken.status == 200 and ticket["status"] == "assigned" and ticket["agent"] == "小李"
    assert ticket["shop_metadata"]["tier"] == "gold"
    texts = [line["text"] for line in ticket["transcript"]]
    assert "能让别人来处理吗" in texts and "我的订单2024061812345678少发了一件" in texts
    asked = next(line for line in ticket["transcript"] if line["text"] == "能让别人来处理吗")
    assert asked["reading"]["confidence"] == 0.98
    frames = await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "assigned")
    assert frames[-1]["agent"] == {"name": "小李"}

    wang = await log_in(client, "wang")
    intruder = await client.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "我来"}, headers=wang)
    assert intruder.status == 403 and (await intruder.json())["error"] == "not_your_ticket"
    assert (await client.get(f"/console/api/tickets/{ticket['id']}", headers=wang)).status == 403

    sent = await client.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "已为您补发"}, headers=li)
    assert sent.status == 201
    frame = (await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "agent"))[-1]
    assert frame["text"] == "已为您补发" and frame["agent"] == {"name": "小李"}

    await ws.send_json({"type": "message", "client_id": "w2", "text": "好的谢谢"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    await asyncio.sleep(0.1)
    assert len(stand_in_rasa.received) == 1, "the bot never answers over an agent"

    resolved = await client.post(f"/console/api/tickets/{ticket['id']}/resolve", json={"note": "补发一件"}, headers=li)
    assert (await resolved.json())["status"] == "resolved"
    frames = await receive_until(ws, lambda f: f["type"] == "rating_request")
    assert any(f["type"] == "handoff" and f["state"] == "ended" for f in frames)
    assert any(is_bot(f) and "小云回来" in f["text"] for f in frames)

    await ws.send_json({"type": "rating", "ticket_id": 9999, "score": 5})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "no_ticket"
    await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 6})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "bad_rating"
    await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 5, "comment": "很快"})
    await receive_until(ws, lambda f: is_bot(f) and "感谢您的评价" in f["text"])
    stored = desk_of(client).queue.get(ticket["id"])
    assert (stored.rating, stored.rating_comment, stored.resolution_note) == (5, "很快", "补发一件")
    assert stored.first_agent_reply_at is not None

    await ws.send_json({"type": "message", "client_id": "w3", "text": "运费谁出"})
    await receive_until(ws, lambda f: is_bot(f) and f["text"] == "收到：运费谁出")
    assert stand_in_rasa.received[-1]["message"] == "运费谁出", "after resolution the bot answers again"


async def test_the_console_refuses_strangers(client):
    add_agent(client, "li", "小李")
    assert (await client.get("/console/api/queue")).status == 401
    assert (await client.get("/console/api/queue", headers={"Authorization": "Bearer forged"})).status == 401
    wrong = await client.post("/console/api/login", json={"username": "li", "password": "wrong-password"})
    assert wrong.status == 401 and (await wrong.json())["error"] == "bad_credentials"
    nobody = await client.post("/console/api/login", json={"username": "ghost", "password": "secret-pass-1"})
    assert nobody.status == 401
    headers = await log_in(client, "li")
    assert (await (await client.get("/console/api/me", headers=headers)).json())["username"] == "li"
    assert (await client.post("/console/api/logout", headers=headers)).status == 204
    assert (await client.get("/console/api/me", headers=headers)).status == 401
    assert (await client.post("/console/api/tickets/next", headers=headers)).status == 401


async def test_the_login_cookie_authenticates_the_page_and_its_socket(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    response = await client.post("/console/api/login", json={"username": "li", "password": "secret-pass-1"})
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert (await client.get("/console/api/me")).status == 200  # the client keeps the cookie
    console = await client.ws_connect("/console/socket")
    first = await receive_until(console, lambda f: f["type"] == "queue")
    assert first[-1]["waiting"] == []
    ws, _, _ = await ask_for_person(client)
    update_frame = (await receive_until(console, lambda f: f["type"] == "queue" and f["waiting"]))[-1]
    assert update_frame["waiting"][0]["reason"] == "request_human"
    await client.post("/console/api/tickets/next")
    await ws.send_json({"type": "message", "client_id": "c2", "text": "在吗"})
    pushed = (await receive_until(console, lambda f: f["type"] == "message" and f["message"]["text"] == "在吗"))[-1]
    assert pushed["ticket_id"] == update_frame["waiting"][0]["id"]


async def test_transfer_gives_the_ticket_to_another_agent(client):
    add_agent(client, "li", "小李")
    add_agent(client, "wang", "小王")
    ws, _, _ = await ask_for_person(client)
    li = await log_in(client, "li")
    ticket = await (await client.post("/console/api/tickets/next", headers=li)).json()
    bad = await client.post(f"/console/api/tickets/{ticket['id']}/transfer", json={"to": "ghost"}, headers=li)
    assert bad.status == 404
    moved = await (await client.post(f"/console/api/tickets/{ticket['id']}/transfer", json={"to": "wang"},
                                     headers=li)).json()
    assert moved["agent"] == "小王"
    assert any(f["type"] == "message" and "小王" in f["text"] for f in await receive_until(
        ws, lambda f: f["type"] == "handoff" and f["agent"] == {"name": "小王"}))
    wang = await log_in(client, "wang")
    assert (await client.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "您好"},
                              headers=wang)).status == 201
    assert (await client.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "x"},
                              headers=li)).status == 403


async def test_queue_places_move_as_tickets_are_taken_and_a_customer_can_cancel(client):
    add_agent(client, "li", "小李")
    first, _, _ = await ask_for_person(client)
    second, _, frames = await ask_for_person(client)
    assert frames[-1]["position"] == 2
    third, third_welcome, frames = await ask_for_person(client)
    assert frames[-1]["position"] == 3
    await client.post("/console/api/tickets/next", headers=await log_in(client, "li"))
    assert (await receive_until(second, lambda f: f["type"] == "queue" and f["position"] == 1))
    await third.send_json({"type": "cancel_handoff"})
    frames = await receive_until(third, lambda f: f["type"] == "handoff" and f["state"] == "cancelled")
    assert any(is_bot(f) and "取消排队" in f["text"] for f in frames)
    assert desk_of(client).queue.open_ticket_for(third_welcome["session_id"]) is None
    await third.send_json({"type": "cancel_handoff"})
    assert (await receive_until(third, lambda f: f["type"] == "error"))[-1]["code"] == "no_ticket"


async def test_with_nobody_online_the_customer_leaves_a_message_and_a_valid_mobile(client):
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "n", "text": "转人工"})
    frames = await receive_until(ws, lambda f: f["type"] == "leave_message_request")
    assert "没有人工客服在线" in frames[-1]["text"]
    await ws.send_json({"type": "leave_message", "text": "发票抬头开错了", "phone": "12345"})
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "bad_phone"
    await ws.send_json({"type": "leave_message", "text": "发票抬头开错了", "phone": "+86 138-0013-8000"})
    told = (await receive_until(ws, lambda f: is_bot(f) and "留言已收到" in f["text"]))[-1]
    assert "138****8000" in told["text"]
    [ticket] = desk_of(client).queue.waiting()
    assert (ticket.kind, ticket.contact_phone, ticket.reason) == ("message", "13800138000", "left_message")
    assert ticket.conversation_id == welcome["session_id"]


async def test_outside_business_hours_the_customer_is_told_when_people_answer(make_client, gateway_config):
    closed = {"hours": "09:00-09:01", "days": "mon-sun", "holidays": [], "timezone": "Asia/Shanghai"}
    client = await make_client(gateway_config, handoff=closed)
    add_agent(client, "li", "小李")
    desk = desk_of(client)
    desk.clock = lambda: datetime(2026, 11, 24, 22, 0, tzinfo=timezone.utc)  # 06:00 in Shanghai
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "n", "text": "转人工"})
    frames = await receive_until(ws, lambda f: f["type"] == "leave_message_request")
    assert "不是人工客服的工作时间" in frames[-1]["text"] and "今天 09:00 后" in frames[-1]["text"]
    await ws.send_json({"type": "leave_message", "text": "想改收货地址", "phone": "13912345678"})
    told = (await receive_until(ws, lambda f: is_bot(f) and "留言已收到" in f["text"]))[-1]
    assert "今天 09:00 后" in told["text"]


async def test_a_vip_customer_goes_to_a_person_on_the_first_message_without_the_bot(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client, identity=signed("V1", "diamond"))
    await ws.send_json({"type": "message", "client_id": "v", "text": "你好"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    ticket = desk_of(client).queue.open_ticket_for(welcome["session_id"])
    assert (ticket.reason, ticket.priority, ticket.customer_id) == ("vip_tier", 30, "V1")
    assert stand_in_rasa.received == []


async def test_strong_anger_goes_to_a_person_and_says_which_words_matched(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "a", "text": "你们就是骗子，太差了！！！"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    ticket = desk_of(client).queue.open_ticket_for(welcome["session_id"])
    assert ticket.reason == "complaint" and "骗子" in ticket.reason_detail and "感叹号" in ticket.reason_detail
    assert stand_in_rasa.received == []


async def test_when_the_bot_is_down_the_customer_is_offered_a_person_or_a_message(make_client, gateway_config):
    client = await make_client(gateway_config, rasa_url="http://127.0.0.1:9")
    add_agent(client, "li", "小李")
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "d", "text": "在吗"})
    offer = (await receive_until(ws, lambda f: is_bot(f) and f["buttons"]))[-1]
    assert [b["payload"] for b in offer["buttons"]] == ["/handoff", "/leave_message"]
    await ws.send_json({"type": "message", "client_id": "d2", "text": "转人工", "payload": "/handoff"})
    assert (await receive_until(ws, lambda f: f["type"] == "handoff"))[-1]["state"] == "waiting"


async def test_a_ticket_whose_agent_vanished_goes_back_to_the_queue_and_the_customer_is_told(client):
    li = add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client)
    await client.post("/console/api/tickets/next", headers=await log_in(client, "li"))
    await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "assigned")
    desk = desk_of(client)
    with desk.queue.engine.begin() as connection:
        connection.execute(update(agents).where(agents.c.id == li.id).values(
            last_seen_at=datetime.now(timezone.utc) - timedelta(minutes=10)))
    requeued = await desk.requeue_stale(agent_timeout_seconds=120)
    assert len(requeued) == 1
    frames = await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "waiting")
    assert any(f["type"] == "message" and "重新排队" in f["text"] for f in frames)


async def test_a_reconnecting_customer_gets_their_handoff_state_back(client):
    add_agent(client, "li", "小李")
    ws, welcome, _ = await ask_for_person(client)
    await ws.close()
    again = await client.ws_connect("/chat/socket")
    await again.send_json({"type": "hello", **resuming(welcome), "last_seq": 99})
    # the state comes after the welcome; a queue broadcast may arrive in between
    frames = await receive_until(again, lambda f: f["type"] == "handoff")
    assert frames[0]["type"] == "welcome" and frames[-1]["state"] == "waiting"
    assert (await receive_until(again, lambda f: f["type"] == "queue"))[-1]["position"] == 1


async def test_handoff_frames_work_over_the_http_fallback(client):
    add_agent(client, "li", "小李")
    welcome = await (await client.post("/chat/api/hello", json={})).json()
    session, token = welcome["session_id"], token_of(welcome)
    await client.post("/chat/api/messages", json={"session_id": session, "client_id": "x", "text": "转人工",
                                                  "payload": "/handoff"}, headers=token)
    events = await (await client.get(f"/chat/api/events?session_id={session}&after=0", headers=token)).json()
    assert {f["type"] for f in events["frames"]} == {"handoff", "queue"}
    cancelled = await client.post("/chat/api/frames", json={"session_id": session, "type": "cancel_handoff"},
                                  headers=token)
    assert cancelled.status == 200 and (await cancelled.json())["frames"] == []
    again = await client.post("/chat/api/frames", json={"session_id": session, "type": "cancel_handoff"},
                              headers=token)
    assert again.status == 409
    bad = await client.post("/chat/api/frames", json={"session_id": session, "type": "drop_tables"}, headers=token)
    assert bad.status == 400


@pytest.mark.parametrize("body, status", [({"text": ""}, 400), ({"text": "长" * 5001}, 413)])
async def test_agent_replies_are_checked(client, body, status):
    add_agent(client, "li", "小李")
    await ask_for_person(client)
    li = await log_in(client, "li")
    ticket = await (await client.post("/console/api/tickets/next", headers=li)).json()
    assert (await client.post(f"/console/api/tickets/{ticket['id']}/messages", json=body, headers=li)).status == status


async def test_several_agents_see_the_queue_change_live(client):
    add_agent(client, "li", "小李")
    add_agent(client, "wang", "小王")
    consoles = []
    for username in ("li", "wang"):
        headers = await log_in(client, username)
        socket = await client.ws_connect("/console/socket", headers=headers)
        await receive_until(socket, lambda f: f["type"] == "queue")
        consoles.append((socket, headers))
    await ask_for_person(client)
    for socket, _ in consoles:
        frame = (await receive_until(socket, lambda f: f["type"] == "queue" and len(f["waiting"]) == 1))[-1]
        assert frame["agents_online"] == 2
    await client.post("/console/api/tickets/next", headers=consoles[0][1])
    emptied = (await receive_until(consoles[1][0], lambda f: f["type"] == "queue" and not f["waiting"]))[-1]
    assert emptied["mine"] == []
    mine = (await receive_until(consoles[0][0], lambda f: f["type"] == "queue" and f["mine"]))[-1]
    assert mine["mine"][0]["agent"] == "小李"


async def test_agents_search_the_knowledge_base_for_quick_answers(client):
    add_agent(client, "li", "小李")
    li = await log_in(client, "li")
    found = await (await client.get("/console/api/knowledge?q=退款多久到账", headers=li)).json()
    assert found["results"][0]["key"] == "refund_arrival_time" and found["results"][0]["answer"]
    assert (await (await client.get("/console/api/knowledge?q=", headers=li)).json()) == {"results": []}
    client.session.cookie_jar.clear()
    assert (await client.get("/console/api/knowledge?q=退款")).status == 401
