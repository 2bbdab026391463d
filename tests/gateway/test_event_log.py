"""The gateway's event log and the supervisor dashboard API: facts in, masked; figures out, supervisors only."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy

from analytics.events import EventLog
from bot.gateway.keys import HUB, RELAY
from tests.gateway.conftest import open_conversation, receive_until, signed
from tests.gateway.test_handoff import add_agent, ask_for_person, log_in


async def logged_eventually(client, conversation_id, kinds, timeout: float = 15.0):
    """The conversation's events once all `kinds` are there (the log is written just after the frames; in a fresh
    process the first turn's masking waits for the masker's warm-up, which loads spaCy and jieba's tags)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        events = logged(client, conversation_id)
        if set(kinds) <= {e.kind for e in events} or loop.time() > deadline:
            return events
        await asyncio.sleep(0.05)


def logged(client, conversation_id=None):
    engine = client.server.app[HUB].store.engine
    now = datetime.now(timezone.utc)
    found = EventLog(engine).between(now - timedelta(hours=1), now + timedelta(hours=1))
    return [e for e in found if conversation_id in (None, e.conversation_id)]


async def test_a_bot_turn_is_logged_with_its_reading_and_personal_data_masked(client):
    ws, welcome = await open_conversation(client, identity=signed("C5"))
    await ws.send_json({"type": "message", "client_id": "m", "text": "我的手机13800138000，退款多久到账"})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    events = await logged_eventually(client, welcome["session_id"], ["customer_message", "bot_answer"])
    said = next(e for e in events if e.kind == "customer_message")
    assert "13800138000" not in said.text and "〔手机号〕" in said.text
    assert said.intent == "faq/refund_arrival_time" and said.confidence == 0.91 and said.customer_id == "C5"
    assert said.detail["entities"] == [{"entity": "phone_number", "value": "〔手机号〕"}]
    answer = next(e for e in events if e.kind == "bot_answer")
    assert answer.kb_key == "refund_arrival_time"


async def test_a_turn_without_an_action_is_logged_with_its_reading_and_no_tracker_request(client, stand_in_rasa):
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "p", "text": "闲聊：你好呀"})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    events = await logged_eventually(client, welcome["session_id"], ["customer_message", "bot_answer"])
    said = next(e for e in events if e.kind == "customer_message")
    assert (said.intent, said.confidence) == ("greet", 0.88)
    # the reading came with the reply from Rasa's gateway channel
    assert stand_in_rasa.tracker_requests == 0


async def test_the_handoff_is_logged_from_escalation_to_rating(client):
    add_agent(client, "li", "小李")
    ws, welcome, _ = await ask_for_person(client)
    li = await log_in(client, "li")
    ticket = await (await client.post("/console/api/tickets/next", headers=li)).json()
    await client.post(f"/console/api/tickets/{ticket['id']}/messages", json={"text": "请留下邮箱 li@example.com"},
                      headers=li)
    await client.post(f"/console/api/tickets/{ticket['id']}/resolve", json={"note": "ok"}, headers=li)
    await receive_until(ws, lambda f: f["type"] == "rating_request")
    await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 4, "comment": "打我电话13912345678"})
    await receive_until(ws, lambda f: f["type"] == "message" and "感谢" in f["text"])
    wanted = ["escalation", "agent_message", "resolution", "rating"]
    kinds = {e.kind: e for e in await logged_eventually(client, welcome["session_id"], wanted)}
    assert kinds["escalation"].reason == "request_human" and kinds["escalation"].ticket_id == ticket["id"]
    assert kinds["agent_message"].agent == "小李" and "li@example.com" not in kinds["agent_message"].text
    resolution = kinds["resolution"].detail
    assert resolution["wait_seconds"] >= 0 and resolution["handling_seconds"] >= 0
    assert kinds["rating"].score == 4 and kinds["rating"].agent == "小李" and "13912345678" not in kinds["rating"].text


async def test_cancelling_is_logged_as_abandoned(client):
    add_agent(client, "li", "小李")
    ws, welcome, _ = await ask_for_person(client)
    await ws.send_json({"type": "cancel_handoff"})
    await receive_until(ws, lambda f: f["type"] == "handoff" and f["state"] == "cancelled")
    events = await logged_eventually(client, welcome["session_id"], ["abandoned"])
    assert any(e.kind == "abandoned" for e in events)


async def test_the_dashboard_api_is_for_supervisors_only_and_adds_up(client):
    add_agent(client, "li", "小李")
    add_agent(client, "boss", "张主管", role="supervisor")
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "q", "text": "退款多久到账"})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    # a complaint the bot hands over: an unanswered question (an explicit ask for a person is not one)
    angry, _ = await open_conversation(client)
    await angry.send_json({"type": "message", "client_id": "c", "text": "我要投诉你们的快递太慢"})
    await receive_until(angry, lambda f: f["type"] == "queue")
    await client.server.app[RELAY].recorder.drain()  # the log is written a moment behind the conversation
    assert (await client.get("/dashboard/api/summary")).status == 401
    agent = await log_in(client, "li")
    refused = await client.get("/dashboard/api/summary", headers=agent)
    assert refused.status == 403 and (await refused.json())["error"] == "supervisors_only"
    boss = await log_in(client, "boss")
    summary = await (await client.get("/dashboard/api/summary?by=day", headers=boss)).json()
    totals = summary["totals"]
    assert totals["conversations"] == 2 and totals["escalated"] == 1 and totals["deflected"] == 1
    assert totals["containment_rate"] + totals["escalation_rate"] == 1.0
    assert summary["cost"]["savings_yuan"] == 15.5 and "时薪 120 元" in summary["cost"]["human_cost_formula"]
    assert summary["top_kb"][0]["key"] == "refund_arrival_time"
    bad = await client.get("/dashboard/api/summary?from=2026-12-01&to=2026-11-01", headers=boss)
    assert bad.status == 400
    export = await client.get("/dashboard/api/export.csv", headers=boss)
    assert export.status == 200 and export.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO((await export.read()).decode("utf-8-sig"))))
    assert table[0][:4] == ["at", "conversation_id", "customer_id", "kind"] and len(table) > 4
    groups = await (await client.get("/dashboard/api/unanswered", headers=boss)).json()
    assert groups["groups"][0]["ending"] == "escalation" and "draft_001" in groups["groups"][0]["draft"]


async def test_events_logged_at_once_share_a_transaction_and_a_bad_one_loses_no_other(client):
    recorder = client.server.app[RELAY].recorder
    engine = client.server.app[HUB].store.engine
    transactions = []

    def began(connection) -> None:
        # the event log's own writer thread; other work (the pending-message sweep) may begin meanwhile
        if threading.current_thread().name.startswith("event-log"):
            transactions.append(connection)

    sqlalchemy.event.listen(engine, "begin", began)
    try:
        await asyncio.gather(*(
            recorder.record("batch-conversation", "bot_answer", kb_key=f"entry_{n}", customer_id=None)
            for n in range(20)
        ))
        await recorder.drain()
        batched = len(transactions)
        # an unknown kind cannot be stored: it is logged as an error, its neighbours are stored
        await asyncio.gather(
            recorder.record("batch-conversation", "fallback", customer_id=None),
            recorder.record("batch-conversation", "no_such_kind", customer_id=None),
            recorder.record("batch-conversation", "clarification", customer_id=None),
        )
        await recorder.drain()
    finally:
        sqlalchemy.event.remove(engine, "begin", began)
    kinds = [e.kind for e in logged(client, "batch-conversation")]
    # recorded at once, written together: one transaction for the twenty
    assert kinds.count("bot_answer") == 20 and batched == 1
    assert "fallback" in kinds and "clarification" in kinds and "no_such_kind" not in kinds


async def test_a_self_service_report_keeps_its_task_outcome_and_attribute_and_reaches_the_dashboard(client):
    recorder = client.server.app[RELAY].recorder
    reading = {"intent": "order_problem", "confidence": 0.93, "entities": []}
    await recorder.customer_message("self-service", "我的快递到哪了", "bot", reading, customer_id=None)
    # what actions/conversation.py `report` sends for an order task and a product question
    await recorder.bot_turn("self-service", {"event": "clarification", "route": "order", "self_service": "track",
                                             "outcome": "asked", "suggested": []}, customer_id=None)
    await recorder.bot_turn("self-service", {"event": "bot_answer", "route": "order", "self_service": "track",
                                             "outcome": "done"}, customer_id=None)
    await recorder.bot_turn("self-service", {"event": "bot_answer", "route": "product", "self_service": "product",
                                             "attribute": "price", "kb_key": None}, customer_id=None)
    # unknown values are kept, cut to 32 characters; keys outside the contract are not kept
    await recorder.bot_turn("odd-report", {"event": "fallback", "route": "order", "self_service": "x" * 100,
                                           "outcome": "y" * 40, "attribute": 7, "phone": "13800138000",
                                           "note": "anything"}, customer_id=None)
    await recorder.drain()
    turns = [e for e in logged(client, "self-service") if e.kind != "customer_message"]
    assert len(turns) == 3
    asked, done, product = turns
    assert (asked.kind, asked.detail) == (
        "clarification", {"suggested": [], "route": "order", "self_service": "track", "outcome": "asked"})
    assert (done.kind, done.detail) == ("bot_answer", {"route": "order", "self_service": "track", "outcome": "done"})
    assert product.detail == {"route": "product", "self_service": "product", "attribute": "price"}
    [odd] = logged(client, "odd-report")
    assert odd.kind == "fallback"
    assert odd.detail == {"route": "order", "self_service": "x" * 32, "outcome": "y" * 32, "attribute": "7"}

    add_agent(client, "boss", "张主管", role="supervisor")
    boss = await log_in(client, "boss")
    summary = await (await client.get("/dashboard/api/summary", headers=boss)).json()
    block = summary["self_service"]
    tasks = {t["task"]: t for t in block["tasks"]}
    assert (block["conversations"], block["resolutions"]) == (1, 1)
    assert tasks["track"]["label"] == "查物流" and tasks["track"]["outcomes"] == {"done": 1, "asked": 1}
    assert tasks["track"]["conversations"] == 1 and tasks["track"]["deflected"] == 1
    assert tasks["product"]["attributes"] == {"price": 1} and tasks["product"]["outcomes"] == {"done": 1}
    # the row without a customer message is not a counted conversation
    assert "x" * 32 not in tasks
