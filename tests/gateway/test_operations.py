"""GET /metrics: the operator's figures move with what happens (answers, a message waiting for a down bot)."""

from __future__ import annotations

import re

from tests.gateway.conftest import open_conversation, receive_until


def figure(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing from /metrics"
    return float(match.group(1))


async def test_metrics_count_answers_and_the_messages_still_waiting(make_client, gateway_config, stand_in_rasa):
    client = await make_client(gateway_config, bot_retry_seconds=60)
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "a", "text": "退款多久到账"})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    text = await (await client.get("/metrics")).text()
    assert figure(text, "shop_bot_answers") == 1 and figure(text, "shop_pending_messages") == 0
    assert figure(text, "shop_conversations_connected") == 1
    assert figure(text, "shop_rasa_up", f'{{url="{stand_in_rasa.url}"}}') == 1
    assert figure(text, "shop_bot_answer_seconds", '{quantile="0.95"}') > 0

    stand_in_rasa.mode = "error"
    await ws.send_json({"type": "message", "client_id": "b", "text": "发票怎么开"})
    await receive_until(ws, lambda f: f["type"] == "notice" and f["code"] == "bot_unavailable")
    text = await (await client.get("/metrics")).text()
    assert figure(text, "shop_bot_failures") == 1
    assert figure(text, "shop_pending_messages") == 1 and figure(text, "shop_pending_oldest_seconds") >= 0
    assert figure(text, "shop_tickets_waiting") == 0
