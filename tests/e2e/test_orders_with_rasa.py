"""An order problem through the real gateway, Rasa and action server, with the embedded demo order system: a
verified customer picks one of their own orders from buttons and a person gets it with the number; an
anonymous visitor is asked for the number and offered no orders."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from core.customer_identity import signed_claim
from evaluation.live_stack import STACK_IDENTITY_SECRET
from tests.gateway.conftest import receive_until

pytestmark = pytest.mark.slow

CHEN_WAITING, WANG_SHIPPED = "2026120244445555", "2026120112345678"


def is_bot(frame) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


def order_buttons(frame):
    return [b for b in frame.get("buttons") or [] if str(b.get("payload", "")).startswith("/order_problem")]


async def history_read(ws, quiet: float = 0.7) -> None:
    """Reads what a resumed conversation sends after the welcome (its history) until the socket is quiet."""
    while True:
        try:
            await ws.receive(timeout=quiet)
        except asyncio.TimeoutError:
            return


async def say(ws, client_id: str, text: str, payload=None):
    # unique per message: a verified customer's conversation is resumed by other tests, and a repeated id is a resend
    await ws.send_json({"type": "message", "client_id": f"{client_id}-{uuid.uuid4().hex}", "text": text,
                        **({"payload": payload} if payload else {})})


async def test_a_verified_customer_picks_their_own_order_and_a_person_gets_it(stack):
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(stack.gateway_url + "/chat/socket")
        # 陈同学: a problem a person must look at, with which of her orders the bot cannot tell
        await ws.send_json({"type": "hello", "identity": signed_claim(STACK_IDENTITY_SECRET, "C30452")})
        session = (await receive_until(ws, lambda f: f["type"] == "welcome"))[-1]["session_id"]
        await history_read(ws)  # her conversation is resumed: earlier tests' messages come first
        await say(ws, "1", "东西少发了一件")
        asked = (await receive_until(ws, lambda f: is_bot(f) and order_buttons(f), timeout=30))[-1]
        titles = [b["title"] for b in order_buttons(asked)]
        assert any(CHEN_WAITING in t and "待发货" in t for t in titles), titles
        assert not any(WANG_SHIPPED in t for t in titles), "only her own orders"
        pick = next(b for b in order_buttons(asked) if CHEN_WAITING in b["title"])
        await say(ws, "2", pick["title"], pick["payload"])
        # handed to a person (a ticket when agents are online, else the leave-a-message form)
        await receive_until(ws, lambda f: f["type"] in ("handoff", "leave_message_request"), timeout=30)
        async with http.get(stack.rasa_api(f"/conversations/{session}/tracker")) as response:
            tracker = await response.json()
    assert tracker["slots"]["order_number"] == CHEN_WAITING, "the picked order is the one handed over"
    handovers = [e for e in tracker["events"] if e["event"] == "bot" and "handoff" in str(e.get("data"))]
    assert any("order_issue" in str(e["data"]) and CHEN_WAITING in str(e["data"]) for e in handovers)


async def test_an_anonymous_visitor_is_asked_for_the_number_and_offered_no_orders(stack):
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(stack.gateway_url + "/chat/socket")
        await ws.send_json({"type": "hello", "metadata": {"customer_id": "C30452"}})  # unsigned: anonymous
        await receive_until(ws, lambda f: f["type"] == "welcome")
        await say(ws, "1", "付款好几天了怎么还没发货")
        asked = (await receive_until(ws, is_bot, timeout=30))[-1]
        assert "订单号" in asked["text"] and order_buttons(asked) == []
