"""The agent's console shows the customer's orders beside the transcript (bot/gateway/customer_orders.py), from
the embedded demo order system: the verified customer's recent orders, the order in question, the receiver's
phone masked, and nothing of another customer's order."""

from __future__ import annotations

from tests.gateway.conftest import receive_until, signed
from tests.gateway.test_handoff import add_agent, ask_for_person, log_in

WANG_SHIPPED, WANG_WAITING, LI_SHIPPED = "2026120112345678", "2026120398765432", "2026112566665555"


async def take_and_read_orders(client, ws):
    li = await log_in(client, "li")
    ticket = await (await client.post("/console/api/tickets/next", headers=li)).json()
    response = await client.get(f"/console/api/tickets/{ticket['id']}/orders", headers=li)
    assert response.status == 200
    return await response.json()


async def test_a_verified_customer_s_orders_and_the_order_they_asked_about(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client, identity=signed("C10086", "gold"))
    await ws.send_json({"type": "message", "client_id": "o1", "text": f"订单{WANG_WAITING}怎么还没发货"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    orders = await take_and_read_orders(client, ws)
    assert orders["verified"] is True and orders["customer_id"] == "C10086"
    assert 1 <= len(orders["orders"]) <= 5 and all(o["order_number"].startswith("2026") for o in orders["orders"])
    focus = orders["in_question"]
    assert focus["order_number"] == WANG_WAITING and focus["status_text"] == "待发货"
    assert focus["promised_dispatch_by"] and focus["receiver"]["phone"] == "138****8000"
    assert "13812348000" not in str(orders), "the receiver's phone is never shown whole"


async def test_the_page_s_order_is_in_question_with_its_tracking(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client, identity=signed("C10086", "gold"),
                                    metadata={"order_number": WANG_SHIPPED})
    focus = (await take_and_read_orders(client, ws))["in_question"]
    assert focus["shipment"]["carrier"] == "顺丰速运" and "张江营业点" in focus["shipment"]["latest"]["description"]


async def test_another_customer_s_order_is_not_shown_to_a_verified_customer_s_agent(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client, identity=signed("C10086", "gold"))
    await ws.send_json({"type": "message", "client_id": "o1", "text": f"帮我查下{LI_SHIPPED}"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    orders = await take_and_read_orders(client, ws)
    assert orders["in_question"] is None
    assert LI_SHIPPED not in [o["order_number"] for o in orders["orders"]]


async def test_an_anonymous_customer_s_named_order_is_shown_marked_unverified(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client)
    await ws.send_json({"type": "message", "client_id": "o1", "text": f"我的订单号 {LI_SHIPPED}"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    orders = await take_and_read_orders(client, ws)
    assert orders["verified"] is False and orders["orders"] == []
    assert orders["in_question"]["order_number"] == LI_SHIPPED and orders["in_question"]["owner_verified"] is False


async def test_with_the_shop_s_order_api_down_the_console_says_so(make_client, gateway_config, stand_in_rasa):
    client = await make_client(gateway_config, orders={"backend": "http", "api_url": "http://127.0.0.1:9",
                                                       "timeout_seconds": 0.3, "retries": 0})
    add_agent(client, "li", "小李")
    ws, _, _ = await ask_for_person(client, identity=signed("C10086", "gold"))
    orders = await take_and_read_orders(client, ws)
    assert orders["unavailable"] is True and orders["orders"] == []
