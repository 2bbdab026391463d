"""No raw customer text in any log line or analytics row: a whole conversation through the gateway (a bot
answer, an escalation whose detail quotes the customer, an agent's reply and a rating) with a phone number,
an ID number and an address, then every captured log line (all loggers, INFO and up) and every table except
the transcript's own (messages, tickets, conversations) are searched for them."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.gateway.keys import HUB, RELAY
from core.db import metadata
from core.reading import reading_from_parse
from tests.gateway.conftest import open_conversation, receive_until, signed
from tests.gateway.test_handoff import add_agent, log_in

PHONE, ID_NUMBER, ADDRESS = "13812345678", "110101199003074578", "北京市朝阳区建国路88号1203室"
PERSONAL = (PHONE, ID_NUMBER, ADDRESS)
# where the transcript itself lives, for the customer and the agent: raw there by design (docs/privacy.md)
TRANSCRIPT_TABLES = {"messages", "tickets", "conversations"}


class CarelessRasa:
    """A bot that hands back everything the customer said wherever it can: entities with raw values, and a
    request for a person whose detail quotes the first 50 characters of the message."""

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, text = body["sender"], body["message"]
        parse = {
            "text": text, "intent": {"name": "faq", "confidence": 0.9},
            "entities": [{"entity": "phone_number", "value": PHONE}, {"entity": "address", "value": ADDRESS},
                         {"entity": "id_number", "value": ID_NUMBER}],
        }
        if "人工" in text:
            parse["intent"] = {"name": "request_human", "confidence": 0.97}
            handoff = {"reason": "request_human", "detail": f"意图 request_human：{text[:50]}", "priority": 10}
            messages = [{"recipient_id": sender, "custom": {"handoff": handoff}}]
        else:
            messages = [{"recipient_id": sender, "text": "好的，已为您记录"},
                        {"recipient_id": sender, "custom": {"analytics": {"event": "bot_answer", "kb_key": "x"}}}]
        return web.json_response({"messages": messages, "reading": reading_from_parse(parse)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/gateway/webhook", self.webhook)
        app.router.add_get("/", lambda request: web.json_response({"hello": "rasa"}))
        return app


@pytest.fixture
async def careless_rasa_url():
    server = TestServer(CarelessRasa().app())
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}"
    await server.close()


async def test_no_log_line_or_analytics_row_holds_the_customers_personal_data(
    make_client, gateway_config, careless_rasa_url, caplog
):
    caplog.set_level(logging.INFO)  # the root logger: every logger's records at INFO and up
    client = await make_client(gateway_config, rasa_url=careless_rasa_url)
    add_agent(client, "li", "小李")
    ws, _ = await open_conversation(client, identity=signed("C7"))
    said = f"我的手机{PHONE}，身份证{ID_NUMBER}，地址{ADDRESS}，退款多久到账"
    await ws.send_json({"type": "message", "client_id": "m1", "text": said})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    await ws.send_json({"type": "message", "client_id": "m2", "text": f"转人工，电话{PHONE}，住{ADDRESS}"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    li = await log_in(client, "li")
    ticket = await (await client.post("/console/api/tickets/next", headers=li)).json()
    await client.post(f"/console/api/tickets/{ticket['id']}/messages", headers=li,
                      json={"text": f"好的，我们会打 {PHONE} 联系您，寄到{ADDRESS}"})
    await client.post(f"/console/api/tickets/{ticket['id']}/resolve", json={"note": f"已回电{PHONE}"}, headers=li)
    await receive_until(ws, lambda f: f["type"] == "rating_request")
    await ws.send_json({"type": "rating", "ticket_id": ticket["id"], "score": 5, "comment": f"身份证{ID_NUMBER}"})
    await receive_until(ws, lambda f: f["type"] == "message" and "感谢" in f["text"])
    await client.server.app[RELAY].recorder.drain()

    engine = client.server.app[HUB].store.engine
    with engine.connect() as connection:
        tables = {name: [dict(row._mapping) for row in connection.execute(select(table))]
                  for name, table in metadata.tables.items() if name not in TRANSCRIPT_TABLES}
    kinds = {row["kind"] for row in tables["conversation_events"]}
    assert {"customer_message", "escalation", "agent_message", "resolution", "rating"} <= kinds
    assert any(row["detail"].get("entities") for row in tables["conversation_events"]), "the entities were logged"
    stored = json.dumps(tables, ensure_ascii=False, default=str)
    lines = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert lines, "the gateway logs at INFO: nothing captured means the capture is broken"
    for value in PERSONAL:
        assert value not in stored, f"{value} is stored in an analytics row: {stored[:2000]}"
        leaking = [line for line in lines if value in line]
        assert not leaking, f"{value} appears in the log: {leaking}"


@pytest.mark.parametrize("url_kind", ["sqlite", "postgresql"])
def test_a_database_error_names_no_value_it_was_given(tmp_path, url_kind):
    """A failed statement's message (which the gateway logs) must not carry its parameters: a customer's text."""
    import sqlalchemy as sa

    from core.db import create_database_engine
    from tests.conftest import postgres_schema

    if url_kind == "postgresql":
        with postgres_schema() as url:
            _assert_hidden(create_database_engine(url), sa)
    else:
        _assert_hidden(create_database_engine(f"sqlite:///{tmp_path / 'e.db'}"), sa)


def _assert_hidden(engine, sa) -> None:
    with pytest.raises(sa.exc.DBAPIError) as raised:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO no_such_table (text) VALUES (:text)"),
                               {"text": "我的手机13812345678"})
    assert "13812345678" not in str(raised.value) and "hidden" in str(raised.value)
    engine.dispose()
