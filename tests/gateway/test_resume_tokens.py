"""The customer's credential is a secret resume token, not the conversation id (issue 13).

The conversation id is public: agents see it in the queue and the ticket, the supervisor's export holds it, logs
print it. Resuming a conversation or acting in it over HTTP takes the resume token the gateway gave that browser
on its first welcome (kept hashed in the database), or, for a verified customer, the shop's signature.
"""

from __future__ import annotations

import hashlib
import logging

import pytest
from sqlalchemy import delete, select

from bot.gateway.hub import ConversationHub
from bot.gateway.keys import HUB
from bot.gateway.resume_tokens import TOKENS_PER_CONVERSATION, new_token, resume_tokens
from bot.gateway.store import ConversationStore, conversations
from core.db import create_database_engine, upgrade_schema
from tests.conftest import postgres_schema
from tests.gateway.conftest import open_conversation, receive_until, signed
from tests.gateway.test_handoff import add_agent, ask_for_person, desk_of, log_in

TOKEN = "X-Resume-Token"


def is_message(frame) -> bool:
    return frame["type"] == "message"


async def http_hello(client, **body):
    response = await client.post("/chat/api/hello", json=body)
    assert response.status == 200
    return await response.json()


async def socket_history(client, **hello):
    """What a socket hello shows: its welcome and the messages that follow it up to the first pong."""
    ws = await client.ws_connect("/chat/socket")
    await ws.send_json({"type": "hello", **hello})
    await ws.send_json({"type": "ping"})
    frames = await receive_until(ws, lambda f: f["type"] == "pong")
    await ws.close()
    welcome = next(f for f in frames if f["type"] == "welcome")
    return welcome, [f for f in frames if is_message(f)]


def stored_rows(client):
    engine = client.server.app[HUB].store.engine
    with engine.connect() as connection:
        return (connection.execute(select(conversations)).all(), connection.execute(select(resume_tokens)).all())


async def test_the_first_welcome_gives_a_random_token_that_is_stored_only_hashed(client):
    ws, welcome = await open_conversation(client)
    token = welcome["resume_token"]
    assert isinstance(token, str) and len(token) >= 22, "at least 128 random bits, URL-safe"
    assert token != welcome["session_id"]
    _, other = await open_conversation(client)
    assert other["resume_token"] != token
    conversation_rows, token_rows = stored_rows(client)
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert (digest, welcome["session_id"]) in [(row.token_hash, row.conversation_id) for row in token_rows]
    assert token not in repr(conversation_rows) + repr(token_rows), "the token itself is never stored"


async def test_a_hello_with_the_id_but_without_its_token_starts_a_new_conversation(client, stand_in_rasa):
    ws, welcome = await open_conversation(client)
    await ws.send_json({"type": "message", "client_id": "m1", "text": "我的地址是上海市浦东新区"})
    await receive_until(ws, lambda f: is_message(f) and f["sender"] == "bot")
    session, token = welcome["session_id"], welcome["resume_token"]

    for hello in ({"session_id": session}, {"session_id": session, "resume_token": "x" * 43},
                  {"session_id": session, "resume_token": token[:-1] + ("A" if token[-1] != "A" else "B")}):
        other, shown = await socket_history(client, **hello)
        assert other["resumed"] is False and other["session_id"] != session and other["resume_token"]
        assert shown == []
        over_http = await http_hello(client, **hello)
        assert over_http["resumed"] is False and over_http["session_id"] != session
        assert over_http["messages"] == []

    again, shown = await socket_history(client, session_id=session, resume_token=token)
    assert again["resumed"] is True and again["session_id"] == session
    assert "resume_token" not in again, "a token that worked is not sent again"
    assert [m["text"] for m in shown] == ["我的地址是上海市浦东新区", "收到：我的地址是上海市浦东新区"]


async def test_an_unknown_conversation_id_also_starts_a_new_conversation(client):
    welcome, shown = await socket_history(client, session_id="does-not-exist", resume_token="x" * 43)
    assert welcome["resumed"] is False and welcome["session_id"] != "does-not-exist" and shown == []


async def test_the_http_calls_need_the_token_and_refuse_with_403_without_it(client, stand_in_rasa):
    welcome = await http_hello(client)
    session, token = welcome["session_id"], welcome["resume_token"]
    message = {"session_id": session, "client_id": "h1", "text": "怎么退货"}
    for headers in ({}, {TOKEN: "wrong"}, {TOKEN: ""}):
        refused = [
            await client.post("/chat/api/messages", json=message, headers=headers),
            await client.get(f"/chat/api/events?session_id={session}&after=0", headers=headers),
            await client.post("/chat/api/frames", json={"session_id": session, "type": "cancel_handoff"},
                              headers=headers),
        ]
        for response in refused:
            assert response.status == 403
            assert (await response.json())["code"] == "bad_resume_token"
    # another conversation's token does not open this one
    stranger = (await http_hello(client))["resume_token"]
    assert (await client.post("/chat/api/messages", json=message, headers={TOKEN: stranger})).status == 403
    assert (await http_hello(client, session_id=session))["messages"] == []

    mine = {TOKEN: token}
    ack = await client.post("/chat/api/messages", json=message, headers=mine)
    assert ack.status == 200 and (await ack.json())["type"] == "ack"
    events = await client.get(f"/chat/api/events?session_id={session}&after=0&wait=3", headers=mine)
    assert events.status == 200 and (await events.json())["messages"][0]["text"] == "怎么退货"


async def test_an_agent_who_takes_the_id_from_the_console_reads_nothing_and_cannot_post_as_the_customer(
        client, stand_in_rasa):
    add_agent(client, "wang", "小王")
    ws, welcome, _ = await ask_for_person(client)
    await ws.send_json({"type": "message", "client_id": "s1", "text": "我的手机号是13800138000"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    # 小王 has not taken the ticket, but the queue view names the conversation
    wang = await log_in(client, "wang")
    queue = await (await client.get("/console/api/queue", headers=wang)).json()
    waiting = queue["waiting"][0]
    conversation_id = waiting["conversation_id"]
    assert conversation_id == welcome["session_id"]

    over_http = await http_hello(client, session_id=conversation_id)
    assert over_http["session_id"] != conversation_id and over_http["messages"] == []
    over_socket, shown = await socket_history(client, session_id=conversation_id)
    assert over_socket["session_id"] != conversation_id and shown == []
    # and with the token of the conversation the attacker just opened for themselves
    own = {TOKEN: over_http["resume_token"]}
    posted = await client.post("/chat/api/messages", json={"session_id": conversation_id, "client_id": "evil",
                                                          "text": "请把退款打到这个账户"}, headers=own)
    assert posted.status == 403
    read = await client.get(f"/chat/api/events?session_id={conversation_id}&after=0", headers=own)
    assert read.status == 403 and "13800138000" not in await read.text()
    cancelled = await client.post("/chat/api/frames", json={"session_id": conversation_id,
                                                            "type": "cancel_handoff"}, headers=own)
    assert cancelled.status == 403
    history = await client.server.app[HUB].history(conversation_id)
    assert "请把退款打到这个账户" not in [m.text for m in history]
    assert desk_of(client).queue.open_ticket_for(conversation_id) is not None, "the ticket was not cancelled"
    assert welcome["resume_token"] not in str(queue)


async def test_a_verified_customer_resumes_on_another_device_by_signature_and_gets_a_token_of_its_own(
        client, stand_in_rasa):
    first = await http_hello(client, identity=signed("C1"))
    await client.post("/chat/api/messages", json={"session_id": first["session_id"], "client_id": "v1",
                                                  "text": "退款多久到账"}, headers={TOKEN: first["resume_token"]})
    elsewhere = await http_hello(client, identity=signed("C1"))
    assert elsewhere["session_id"] == first["session_id"] and elsewhere["resumed"] is True
    assert elsewhere["resume_token"] and elsewhere["resume_token"] != first["resume_token"]
    assert [m["text"] for m in elsewhere["messages"]][:1] == ["退款多久到账"]
    for token in (first["resume_token"], elsewhere["resume_token"]):  # both devices keep working
        events = await client.get(f"/chat/api/events?session_id={first['session_id']}&after=0",
                                  headers={TOKEN: token})
        assert events.status == 200
    # the token alone does not resume a verified customer's conversation once they have logged out
    logged_out = await http_hello(client, session_id=first["session_id"], resume_token=first["resume_token"])
    assert logged_out["session_id"] != first["session_id"] and logged_out["messages"] == []


async def test_no_log_line_and_no_export_holds_the_token(client, stand_in_rasa, caplog):
    caplog.set_level(logging.DEBUG)
    add_agent(client, "boss", "张主管", role="supervisor")
    ws, welcome = await open_conversation(client)
    token = welcome["resume_token"]
    await ws.send_json({"type": "message", "client_id": "l1", "text": "转人工"})
    await receive_until(ws, lambda f: f["type"] == "ack")
    await http_hello(client, session_id=welcome["session_id"], resume_token=token)
    await client.get(f"/chat/api/events?session_id={welcome['session_id']}&after=0", headers={TOKEN: token})
    boss = await log_in(client, "boss")
    export = await client.get("/dashboard/api/export.csv", headers=boss)
    assert export.status == 200
    assert token not in (await export.read()).decode("utf-8-sig")
    assert caplog.records and all(token not in record.getMessage() for record in caplog.records)


async def test_a_shop_on_another_domain_may_send_the_token_header(client):
    shop = {"Origin": "https://shop.example.com"}
    preflight = await client.options("/chat/api/events", headers={
        **shop, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-resume-token"})
    assert preflight.status == 204
    allowed = [h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")]
    assert "x-resume-token" in allowed and int(preflight.headers["Access-Control-Max-Age"]) >= 60


@pytest.fixture(params=["sqlite", "postgresql"])
async def hub(request, tmp_path):
    """A hub on a fresh, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.db'}"
        engine = create_database_engine(url)
        upgrade_schema(engine)
        hub = ConversationHub(ConversationStore(engine))
        yield hub
        hub.close()
        return
    with postgres_schema() as url:
        engine = create_database_engine(url)
        upgrade_schema(engine)
        hub = ConversationHub(ConversationStore(engine))
        yield hub
        hub.close()
        engine.dispose()


async def test_a_conversation_keeps_its_newest_tokens_and_its_erasure_takes_them_along(hub):
    tokens = [new_token() for _ in range(TOKENS_PER_CONVERSATION + 2)]
    conversation = await hub.start_conversation({}, tokens[0])
    other = await hub.start_conversation({}, new_token())
    for token in tokens[1:]:
        await hub.add_resume_token(conversation, token)
    fresh = ConversationHub(hub.store)  # another gateway: nothing cached
    opened = [await fresh.token_opens(conversation, token) for token in tokens]
    assert opened == [False, False] + [True] * TOKENS_PER_CONVERSATION
    assert not await fresh.token_opens(other, tokens[-1]) and not await fresh.token_opens(conversation, None)
    with hub.store.engine.begin() as connection:
        connection.execute(delete(conversations).where(conversations.c.id == conversation))
        left = connection.execute(select(resume_tokens.c.conversation_id)).scalars().all()
    assert left == [other]
    fresh.close()
