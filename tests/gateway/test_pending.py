"""Stored means handled: a customer message stays pending until it is answered or handed over, and whatever a
gateway left unfinished (it died, the bot was down, a ticket was not opened yet) is finished by the sweep of a
gateway, once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from bot.gateway.keys import HUB
from bot.gateway.store import ANSWERED, HANDED_OVER, HANDING_OVER, PENDING, ConversationStore, messages
from core.db import create_database_engine
from handoff.accounts import AgentDirectory
from handoff.queue import TicketQueue
from tests.gateway.conftest import bot_text, open_conversation, receive_until


def handling_of(client, message_id: str) -> str:
    with client.server.app[HUB].store.engine.connect() as connection:
        return connection.execute(select(messages.c.handling).where(messages.c.id == message_id)).scalar()


def expire(client, message_id: str, **values) -> None:
    """As if the gateway holding the message had died a while ago."""
    with client.server.app[HUB].store.engine.begin() as connection:
        connection.execute(update(messages).where(messages.c.id == message_id).values(
            handling_until=datetime.now(timezone.utc) - timedelta(seconds=1), **values))


async def test_an_answered_message_is_finished_and_every_step_on_the_way_is_recorded(client):
    ws, _ = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "c1", "text": "退款多久到账"})
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    ack = next(f for f in frames if f["type"] == "ack")
    assert handling_of(client, ack["id"]) == ANSWERED


async def test_a_message_its_gateway_stored_but_never_routed_is_answered_once_by_the_sweep(make_client,
                                                                                            gateway_config,
                                                                                            stand_in_rasa):
    client = await make_client(gateway_config, pending_sweep_seconds=0.1)
    ws, welcome = await open_conversation(client)
    # a gateway that stored the message and died before asking the bot: it is pending, its lease runs out
    store = ConversationStore(create_database_engine(gateway_config.database_url))
    stored, _ = store.append(welcome["session_id"], "customer", "运费谁出", client_id="lost-1")
    assert handling_of(client, stored.id) == PENDING
    expire(client, stored.id)
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot", timeout=5)
    assert bot_text(frames) == ["收到：运费谁出"] and frames[-1]["reply_to"] == stored.id
    assert handling_of(client, stored.id) == ANSWERED
    await asyncio.sleep(0.5)
    assert [b["message"] for b in stand_in_rasa.received] == ["运费谁出"], "asked once, answered once"
    # the customer re-sending it after a reconnect changes nothing
    await ws.send_json({"type": "message", "client_id": "lost-1", "text": "运费谁出"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    await asyncio.sleep(0.5)
    assert len(stand_in_rasa.received) == 1


async def test_while_the_bot_is_down_the_customer_is_told_and_the_message_is_answered_when_it_is_back(
        make_client, gateway_config, stand_in_rasa):
    client = await make_client(gateway_config, pending_sweep_seconds=0.1, bot_retry_seconds=0.3)
    stand_in_rasa.mode = "error"
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "c1", "text": "发票怎么开"})
    frames = await receive_until(ws, lambda f: f["type"] == "notice" and f["code"] == "bot_unavailable", timeout=5)
    ack = next(f for f in frames if f["type"] == "ack")
    assert handling_of(client, ack["id"]) == PENDING
    await asyncio.sleep(1.0)
    assert len(stand_in_rasa.received) >= 2, "the bot should be asked again while it is down"
    stand_in_rasa.mode = "answer"
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["text"] == "收到：发票怎么开", timeout=5)
    assert frames[-1]["reply_to"] == ack["id"]
    assert handling_of(client, ack["id"]) == ANSWERED
    await asyncio.sleep(0.8)
    history = client.server.app[HUB].store.history(welcome["session_id"])
    answers = [m for m in history if m.sender == "bot" and m.extra.get("reply_to") == ack["id"]]
    assert [m.text for m in answers] == ["收到：发票怎么开"], "answered once"


async def test_a_message_the_bot_cannot_answer_for_too_long_goes_to_a_person_with_a_word(make_client,
                                                                                         gateway_config,
                                                                                         stand_in_rasa):
    client = await make_client(gateway_config, pending_sweep_seconds=0.1, bot_retry_seconds=0.2,
                               bot_give_up_seconds=0.8)
    stand_in_rasa.mode = "error"
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "c1", "text": "我的快递到哪了"})
    frames = await receive_until(ws, lambda f: f["type"] == "message" and "人工客服" in f.get("text", ""), timeout=6)
    ack = next(f for f in frames if f["type"] == "ack")
    # nobody is online in this test: the customer is asked to leave a message for the next person
    await receive_until(ws, lambda f: f["type"] == "leave_message_request", timeout=3)
    await asyncio.sleep(0.2)
    assert handling_of(client, ack["id"]) == HANDED_OVER


async def test_a_bots_request_for_a_person_left_without_its_ticket_gets_exactly_one(make_client, gateway_config):
    client = await make_client(gateway_config, pending_sweep_seconds=0.1,
                               handoff={**gateway_config.handoff, "agent_timeout_seconds": 120})
    ws, welcome = await open_conversation(client)
    conversation_id = welcome["session_id"]
    store = client.server.app[HUB].store
    stored, _ = store.append(conversation_id, "customer", "我要投诉", client_id="c1")
    # the bot asked for a person; its gateway stored that and died before the ticket was opened
    decision = {"reason": "complaint", "detail": "意图 complaint", "priority": 20}
    assert store.append_bot_turn(conversation_id, stored.id, {"intent": "complaint"}, [], decision) == []
    assert handling_of(client, stored.id) == HANDING_OVER
    # a second answer to the same message is refused: it is finished
    assert store.append_bot_turn(conversation_id, stored.id, {"intent": "faq"}, [("又一个回答", {})]) is None
    queue = TicketQueue(store.engine)
    # an agent is online, so a ticket can be opened
    directory = AgentDirectory(store.engine)
    agent = directory.add("wang", "王", "password-123")
    directory.touch(agent.id)
    expire(client, stored.id)
    for _ in range(50):
        await asyncio.sleep(0.1)
        if handling_of(client, stored.id) == HANDED_OVER:
            break
    assert handling_of(client, stored.id) == HANDED_OVER
    ticket = queue.open_ticket_for(conversation_id)
    assert ticket is not None and ticket.reason == "complaint"
    expire(client, stored.id, handling=HANDING_OVER)
    await asyncio.sleep(0.6)
    assert queue.open_ticket_for(conversation_id).id == ticket.id, "taking it over again opens no second ticket"
