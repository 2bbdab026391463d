"""Verified customers through the gateway: only a signed claim says who the customer is, and a verified
customer's conversation is theirs alone (bot/gateway/identity.py, conversations.py)."""

from __future__ import annotations

from bot.gateway.demo_page import demo_customers
from bot.gateway.keys import HUB, IDENTITIES
from core.customer_identity import VerifiedCustomer, signed_claim, verify
from tests.gateway.conftest import SHOP_SECRET, open_conversation, receive_until, resuming, signed, token_of
from tests.gateway.test_handoff import add_agent, desk_of


async def say(ws, client_id: str, text: str):
    await ws.send_json({"type": "message", "client_id": client_id, "text": text})
    return await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")


async def stored_metadata(client, session_id):
    return await client.server.app[HUB].shop_metadata(session_id)


async def test_an_unsigned_vip_claim_is_an_anonymous_visitor_with_no_vip_ticket(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client, metadata={"customer_id": "C10086", "tier": "diamond"})
    await say(ws, "m1", "你好")
    metadata = await stored_metadata(client, welcome["session_id"])
    assert "customer_id" not in metadata and "tier" not in metadata
    assert desk_of(client).queue.open_ticket_for(welcome["session_id"]) is None, "no VIP ticket for a claim"
    assert stand_in_rasa.received[-1]["metadata"].get("tier") is None
    assert client.server.app[IDENTITIES].refused["unsigned"] == 1
    metrics = await (await client.get("/metrics")).text()
    assert 'shop_identity_refused{reason="unsigned"} 1' in metrics


async def test_a_forged_signature_counts_as_anonymous_and_is_logged(client, stand_in_rasa, caplog):
    forged = signed_claim("a guessed secret", "C10086", "diamond")
    ws, welcome = await open_conversation(client, identity=forged)
    await say(ws, "m1", "你好")
    assert "customer_id" not in await stored_metadata(client, welcome["session_id"])
    assert desk_of(client).queue.open_ticket_for(welcome["session_id"]) is None
    assert any("customer identity refused (bad_signature)" in r.getMessage() for r in caplog.records)


async def test_an_expired_claim_counts_as_anonymous(client, stand_in_rasa):
    expired = signed_claim(SHOP_SECRET, "C10086", "gold", lifetime_seconds=-3600)
    ws, welcome = await open_conversation(client, identity=expired)
    assert "customer_id" not in await stored_metadata(client, welcome["session_id"])
    assert client.server.app[IDENTITIES].refused["expired"] == 1


async def test_a_signed_vip_goes_to_a_person_and_the_ticket_carries_the_verified_customer(client, stand_in_rasa):
    add_agent(client, "li", "小李")
    ws, welcome = await open_conversation(client, identity=signed("V1", "diamond"))
    await ws.send_json({"type": "message", "client_id": "v", "text": "你好"})
    await receive_until(ws, lambda f: f["type"] == "queue")
    ticket = desk_of(client).queue.open_ticket_for(welcome["session_id"])
    assert (ticket.reason, ticket.customer_id, ticket.tier) == ("vip_tier", "V1", "diamond")


async def test_a_verified_conversation_resumes_for_that_customer_only(client, stand_in_rasa):
    ws, first = await open_conversation(client, identity=signed("C1", "gold"))
    await say(ws, "m1", "我的订单到哪了")
    await ws.close()
    session = first["session_id"]

    # the same customer, signed in again (a fresh signature): the conversation and its history
    ws, again = await open_conversation(client, session_id=session, identity=signed("C1", "gold"))
    assert again["session_id"] == session and again["resumed"] is True
    history = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    assert any(f.get("text") == "我的订单到哪了" for f in history)
    await ws.close()

    # logged out on a shared browser, or another customer: a new conversation, none of the history, even with
    # the browser's resume token
    for identity in (None, signed("C2", "gold"), signed_claim("a guessed secret", "C1", "gold")):
        hello = {**resuming(first), **({"identity": identity} if identity else {})}
        ws, other = await open_conversation(client, **hello)
        assert other["session_id"] != session and other["resumed"] is False
        await ws.send_json({"type": "ping"})
        frames = await receive_until(ws, lambda f: f["type"] == "pong")
        assert not [f for f in frames if f["type"] == "message"], "no earlier message reaches another visitor"
        await ws.close()
    assert (await stored_metadata(client, session))["customer_id"] == "C1"


async def test_over_http_too_another_visitor_gets_a_new_conversation(client, stand_in_rasa):
    first = await (await client.post("/chat/api/hello", json={"identity": signed("C1")})).json()
    await client.post("/chat/api/messages", json={"session_id": first["session_id"], "client_id": "h1",
                                                   "text": "发票怎么开"}, headers=token_of(first))
    other = await (await client.post("/chat/api/hello", json={"session_id": first["session_id"]})).json()
    assert other["session_id"] != first["session_id"] and other["messages"] == []


async def test_an_anonymous_conversation_becomes_the_customers_when_they_log_in(client, stand_in_rasa):
    ws, anonymous = await open_conversation(client)
    await say(ws, "m1", "有优惠券吗")
    await ws.close()
    ws, logged_in = await open_conversation(client, **resuming(anonymous), identity=signed("C3", "gold"))
    assert logged_in["session_id"] == anonymous["session_id"] and logged_in["resumed"] is True
    metadata = await stored_metadata(client, anonymous["session_id"])
    assert (metadata["customer_id"], metadata["tier"]) == ("C3", "gold")


async def test_a_message_frame_cannot_change_who_the_customer_is(client, stand_in_rasa):
    ws, welcome = await open_conversation(client, identity=signed("C1", "gold"))
    await ws.send_json({"type": "message", "client_id": "m1", "text": "你好",
                        "metadata": {"customer_id": "C2", "tier": "diamond", "page_url": "https://shop/cart"}})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    metadata = await stored_metadata(client, welcome["session_id"])
    assert (metadata["customer_id"], metadata["tier"], metadata["page_url"]) == ("C1", "gold", "https://shop/cart")


async def test_the_demo_page_signs_its_demo_customer_and_can_log_out(client):
    secret = client.server.app[IDENTITIES].secret
    page = await (await client.get("/")).text()
    first = demo_customers()[0]
    values = {name: page.split(f'data-{name}="')[1].split('"')[0]
              for name in ("customer-id", "tier", "expires-at", "signature")}
    claim = {"customer_id": values["customer-id"], "tier": values["tier"],
             "expires_at": int(values["expires-at"]), "signature": values["signature"]}
    assert verify(secret, claim) == VerifiedCustomer(first.id, first.tier)
    assert first.name in page and "{{" not in page
    anonymous = await (await client.get("/?customer=")).text()
    assert "data-signature" not in anonymous and "登录后可查看订单" in anonymous
    unknown = await (await client.get("/?customer=C99999")).text()
    assert "data-signature" not in unknown


async def test_a_verified_customer_on_another_device_continues_their_latest_conversation(client, stand_in_rasa):
    ws, first = await open_conversation(client, identity=signed("C4", "gold"))
    await say(ws, "m1", "我要开发票")
    await ws.close()
    # no session id: another browser, or this one after someone else used it
    ws, elsewhere = await open_conversation(client, identity=signed("C4", "gold"))
    assert elsewhere["session_id"] == first["session_id"] and elsewhere["resumed"] is True
    history = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    assert any(f.get("text") == "我要开发票" for f in history)
    ws, stranger = await open_conversation(client, identity=signed("C5", "gold"))
    assert stranger["session_id"] != first["session_id"] and stranger["resumed"] is False
