"""Order self-service through the real gateway, Rasa and action server: against the embedded demo order system
(the session's stack) and against the HTTP client talking to a local shop API that follows the contract
(tools/shop_api_server.py), including that API down and slow."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import aiohttp
import pytest

from evaluation.customer_chat import CustomerChat
from evaluation.live_stack import free_port, running_stack
from tools.shop_api_server import serving_in_thread

pytestmark = pytest.mark.slow

WANG, CHEN = "C10086", "C30452"
WANG_SHIPPED, WANG_WAITING, WANG_DELIVERED = "2026120112345678", "2026120398765432", "2026112055501234"
WANG_UNPAID, CHEN_WAITING = "2026120500001111", "2026120244445555"
SHOP_API_TOKEN = "shop-api-token-for-tests"


@pytest.fixture(scope="module")
def http_stack(full_model, tmp_path_factory):
    """The product with `orders.backend: http` against the local shop API."""
    work = tmp_path_factory.mktemp("http-orders")
    with serving_in_thread(f"sqlite:///{work / 'shop-api.db'}", SHOP_API_TOKEN, free_port()) as api:
        env = {"SHOP_ORDERS_BACKEND": "http", "SHOP_ORDERS_API_URL": api["url"],
               "SHOP_ORDERS_API_TOKEN": SHOP_API_TOKEN, "SHOP_ORDERS_TIMEOUT_SECONDS": "1.0",
               "SHOP_ORDERS_RETRIES": "0", "SHOP_ORDERS_BREAKER_RESET_SECONDS": "1",
               "SHOP_GATEWAY_RATE_LIMIT_BURST": "50"}
        with running_stack(full_model, work, env, quiet=True) as running:
            running.faults = api["faults"]
            yield running


@pytest.fixture(params=["demo", "http"])
def order_stack(request):
    """Each flow on the embedded demo order system and on the HTTP client."""
    return request.getfixturevalue("stack" if request.param == "demo" else "http_stack")


def text_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def buttons_of(messages: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for m in messages for b in m.get("buttons") or []]


async def test_a_verified_customer_asks_where_the_earbuds_are(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(WANG)
        answer = text_of(await chat.say("我买的耳机到哪了"))
    assert WANG_SHIPPED in answer and "SF1402837465921" in answer and "张江营业点" in answer


async def test_an_anonymous_customer_proves_the_order_before_any_detail(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open()
        asked = text_of(await chat.say(f"{WANG_SHIPPED} 我的快递到哪了"))
        assert "后 4 位" in asked and "SF1402837465921" not in asked
        wrong = text_of(await chat.say("1234"))
        assert "对不上" in wrong and "顺丰" not in wrong and "耳机" not in wrong
        right = text_of(await chat.say("8000"))
    assert "SF1402837465921" in right


async def test_why_not_shipped_then_urge_with_a_yes(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(CHEN)
        answer = await chat.say("我的订单怎么还没发货")
        assert CHEN_WAITING in text_of(answer) and "承诺" in text_of(answer)
        urge = next(b for b in buttons_of(answer) if "催发货" in b["title"])
        confirm = await chat.say(urge["title"], urge["payload"])
        assert "确认" in text_of(confirm)
        done = text_of(await chat.say("确认", "/affirm"))
    assert "已帮您催促仓库" in done


async def test_change_the_address_before_shipment(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(CHEN)
        asked = text_of(await chat.say(f"订单{CHEN_WAITING}地址写错了 帮我改一下"))
        assert "完整地址" in asked
        confirm = text_of(await chat.say("广州市海珠区新港西路135号中山大学东区8栋"))
        assert "新港西路135号" in confirm
        done = text_of(await chat.say("确认", "/affirm"))
    assert "已修改" in done and "新港西路135号" in done


async def test_cancel_before_shipment_and_refused_after(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(WANG)
        refused = text_of(await chat.say(f"{WANG_SHIPPED}这单不想要了 帮我取消"))
        assert "已经发货" in refused
        confirm = text_of(await chat.say(f"帮我取消订单{WANG_UNPAID}"))
        assert "确认取消" in confirm
        done = text_of(await chat.say("确认", "/affirm"))
        again = text_of(await chat.say(f"帮我取消订单{WANG_UNPAID}"))
    assert "已取消" in done and "已取消" in again, "cancelled once; asked again, it says it is cancelled"


async def test_a_return_within_the_window_and_an_invoice(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(WANG)
        kind = text_of(await chat.say(f"订单{WANG_DELIVERED}我想申请售后"))
        assert "哪种售后" in kind
        confirm = text_of(await chat.say("退货退款"))
        assert "退货退款" in confirm
        done = text_of(await chat.say("确认", "/affirm"))
        assert "售后单号" in done
        title = text_of(await chat.say(f"订单{WANG_DELIVERED}帮我开个发票"))
        assert "抬头" in title
        assert "邮箱" in text_of(await chat.say("个人"))
        assert "wang@example.com" in text_of(await chat.say("wang@example.com"))
        issued = text_of(await chat.say("确认", "/affirm"))
    assert "已为" in issued and "电子发票" in issued


async def test_算了_leaves_the_form_and_a_new_question_is_answered(order_stack):
    async with aiohttp.ClientSession() as http:
        chat = await CustomerChat(http, order_stack.gateway_url).open(CHEN)
        asked = text_of(await chat.say(f"订单{CHEN_WAITING}地址填错了"))
        assert "完整地址" in asked
        dropped = text_of(await chat.say("算了"))
        assert "完整地址" not in dropped
        answer = text_of(await chat.say("退款一般多久到账"))
    assert "到账" in answer and "完整地址" not in answer


@pytest.mark.parametrize("fault", [{"fail_status": 503}, {"delay_seconds": 3.0}], ids=["down", "slow"])
async def test_the_shop_api_down_or_slow_is_said_within_seconds(http_stack, fault):
    http_stack.faults.update(fault)
    try:
        async with aiohttp.ClientSession() as http:
            chat = await CustomerChat(http, http_stack.gateway_url).open(WANG)
            started = asyncio.get_running_loop().time()
            answer = await chat.say(f"订单{WANG_SHIPPED}到哪了")
            took = asyncio.get_running_loop().time() - started
    finally:
        for key in fault:
            http_stack.faults.pop(key, None)
    assert "暂时查不到" in text_of(answer) and any(b["payload"] == "/handoff" for b in buttons_of(answer))
    assert took < 8, f"the customer waited {took:.1f} s"
