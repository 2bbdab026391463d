"""The chat gateway in front of the real Rasa server and action server, over a real WebSocket."""

from __future__ import annotations

import json
import urllib.request

import aiohttp
import pytest

from core.customer_identity import signed_claim
from evaluation.live_stack import STACK_IDENTITY_SECRET
from knowledge import load_knowledge_base
from tests.conftest import ROOT
from tests.gateway.conftest import receive_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(ROOT / "data" / "kb")


def is_bot_message(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


async def open_socket(session: aiohttp.ClientSession, stack, **hello):
    ws = await session.ws_connect(stack.gateway_url + "/chat/socket")
    await ws.send_json({"type": "hello", **hello})
    welcome = (await receive_until(ws, lambda f: f["type"] == "welcome"))[-1]
    return ws, welcome


async def test_a_faq_question_through_the_gateway_gets_the_knowledge_base_answer(stack, kb):
    entry = kb.get("refund_arrival_time")
    async with aiohttp.ClientSession() as session:
        ws, _ = await open_socket(session, stack)
        await ws.send_json({"type": "message", "client_id": "q1", "text": entry.paraphrases[0]})
        frames = await receive_until(ws, is_bot_message, timeout=30)
        assert frames[-1]["text"] == entry.answer


async def test_a_suggestion_button_from_the_bot_answers_its_entry(stack, kb):
    async with aiohttp.ClientSession() as session:
        ws, _ = await open_socket(session, stack)
        # vague, about coupons: "您是想问" with the coupon entry
        await ws.send_json({"type": "message", "client_id": "u1", "text": "券怎么弄"})
        frames = await receive_until(ws, lambda f: is_bot_message(f) and f["buttons"], timeout=30)
        button = next(b for b in frames[-1]["buttons"] if "faq_key" in b["payload"])
        key = json.loads(button["payload"][len("/faq"):])["faq_key"]
        click = {"type": "message", "client_id": "u2", "text": button["title"], "payload": button["payload"]}
        await ws.send_json(click)
        frames = await receive_until(ws, is_bot_message, timeout=30)
        assert frames[-1]["text"] == kb.get(key).answer


async def test_shop_metadata_from_the_page_is_in_rasas_tracker(stack):
    metadata = {"page_url": "http://shop/p/1", "order_number": "2024061812345678"}
    # a customer of this test alone: a signed-in customer continues their latest conversation, and other
    # tests talk as the demo customers
    identity = signed_claim(STACK_IDENTITY_SECRET, "E2E-METADATA", "vip")
    async with aiohttp.ClientSession() as session:
        ws, welcome = await open_socket(session, stack, metadata=metadata, identity=identity)
        await ws.send_json({"type": "message", "client_id": "m1", "text": "你好"})
        await receive_until(ws, is_bot_message, timeout=30)
        url = stack.rasa_api(f"/conversations/{welcome['session_id']}/tracker")
        with urllib.request.urlopen(url, timeout=10) as response:
            tracker = json.loads(response.read())
    user_events = [e for e in tracker["events"] if e["event"] == "user"]
    assert {**metadata, "customer_id": "E2E-METADATA", "tier": "vip"}.items() <= user_events[-1]["metadata"].items()
    assert user_events[-1]["input_channel"] == "widget"


async def test_with_the_action_server_down_the_customer_is_told_and_it_recovers(stack, kb):
    entry = kb.get("refund_arrival_time")
    async with aiohttp.ClientSession() as session:
        ws, _ = await open_socket(session, stack)
        stack.stop("action server")
        try:
            await ws.send_json({"type": "message", "client_id": "a1", "text": entry.paraphrases[0]})
            frames = await receive_until(
                ws, lambda f: f["type"] == "notice" and f["code"] == "bot_unavailable", timeout=15
            )
            assert "暂时无法回复" in frames[-1]["text"]
            offer = await receive_until(ws, lambda f: is_bot_message(f) and f["buttons"], timeout=15)
            assert [b["title"] for b in offer[-1]["buttons"]] == ["转人工", "留言"]
        finally:
            stack.start("action server")
        await ws.send_json({"type": "message", "client_id": "a2", "text": entry.paraphrases[1]})
        frames = await receive_until(ws, is_bot_message, timeout=30)
        assert frames[-1]["text"] == entry.answer


@pytest.mark.parametrize("text", ["这个订单麻烦帮忙早点安排发货", "我前天拍的到现在还没发货 赶紧给发吧"])
async def test_a_message_about_one_order_gets_asked_which_order(stack, text):
    async with aiohttp.ClientSession() as session:
        ws, _ = await open_socket(session, stack)
        await ws.send_json({"type": "message", "client_id": "o1", "text": text})
        frames = await receive_until(ws, is_bot_message, timeout=30)
        assert "哪个订单" in frames[-1]["text"]
        assert not any("您是想问" in (f.get("text") or "") for f in frames if is_bot_message(f))
