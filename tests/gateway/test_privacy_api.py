"""The supervisors' personal-data API on the dashboard (export, erase, the privacy record) and the privacy page
the widget's notice links to."""

from __future__ import annotations

from sqlalchemy import select

from bot.gateway.keys import HUB, RELAY
from bot.gateway.resume_tokens import resume_tokens
from bot.gateway.store import messages
from tests.gateway.conftest import open_conversation, receive_until, signed
from tests.gateway.test_handoff import add_agent, ask_for_person, log_in

PHONE = "13812345678"


def own_origin(client) -> dict:
    """State-changing dashboard requests come from the gateway's own pages."""
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def chat(client, customer_id: str, text: str) -> None:
    ws, _ = await open_conversation(client, identity=signed(customer_id))
    await ws.send_json({"type": "message", "client_id": "m1", "text": text})
    await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    await ws.close()


def stored_texts(client) -> list:
    with client.server.app[HUB].store.engine.connect() as connection:
        return [row.text for row in connection.execute(select(messages.c.text))]


async def test_a_supervisor_exports_and_erases_one_customer(client):
    add_agent(client, "li", "小李")
    add_agent(client, "boss", "张主管", role="supervisor")
    await chat(client, "C8", f"我的手机{PHONE}，退款多久到账")
    await chat(client, "C9", "怎么开发票")
    await client.server.app[RELAY].recorder.drain()
    boss = {**await log_in(client, "boss"), **own_origin(client)}

    exported = await client.get("/dashboard/api/privacy/export?customer_id=C8", headers=boss)
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    data = await exported.json()
    assert any(PHONE in m["text"] for m in data["messages"]) and data["conversation_events"]
    assert all(c["customer_id"] == "C8" for c in data["conversations"])

    erased = await client.post("/dashboard/api/privacy/erase", json={"customer_id": "C8"}, headers=boss)
    assert erased.status == 200
    assert (await erased.json())["counts"]["messages"] == 2
    assert not any(PHONE in text for text in stored_texts(client)) and "怎么开发票" in stored_texts(client)
    # nothing in the gateway's memory names the customer any more, and their browser's resume token is gone
    erased_ids = [conversation["id"] for conversation in data["conversations"]]
    for conversation_id in erased_ids:
        assert await client.server.app[HUB].shop_metadata(conversation_id) == {}
    with client.server.app[HUB].store.engine.connect() as connection:
        tokens = connection.execute(select(resume_tokens.c.conversation_id)).scalars().all()
    assert tokens and not set(tokens) & set(erased_ids)
    gone = await client.get("/dashboard/api/privacy/export?customer_id=C8", headers=boss)
    assert gone.status == 404 and (await gone.json())["error"] == "not_found"

    record = (await (await client.get("/dashboard/api/privacy/actions", headers=boss)).json())["actions"]
    assert [(r["actor"], r["action"], r["subject"]) for r in record][:2] == [("boss", "erase", "C8"),
                                                                              ("boss", "export", "C8")]
    assert PHONE not in str(record)
    audit = (await (await client.get("/dashboard/api/audit", headers=boss)).json())["entries"]
    assert [(e["username"], e["action"], e["target"]) for e in audit][:2] == [
        ("boss", "erase_personal_data", "customer:C8"), ("boss", "export_personal_data", "customer:C8")]


async def test_only_supervisors_reach_it_and_mistakes_get_a_clear_4xx(client):
    add_agent(client, "li", "小李")
    add_agent(client, "boss", "张主管", role="supervisor")
    assert (await client.get("/dashboard/api/privacy/export?customer_id=C8")).status == 401
    agent = {**await log_in(client, "li"), **own_origin(client)}
    assert (await client.get("/dashboard/api/privacy/export?customer_id=C8", headers=agent)).status == 403
    assert (await client.post("/dashboard/api/privacy/erase", json={"customer_id": "C8"}, headers=agent)).status == 403
    boss = {**await log_in(client, "boss"), **own_origin(client)}
    for query in ("", "?customer_id=C8&conversation_id=x", "?customer_id=" + "x" * 300):
        refused = await client.get("/dashboard/api/privacy/export" + query, headers=boss)
        assert refused.status == 400 and (await refused.json())["error"] == "bad_subject"
    for body in ([1], {"customer_id": 5}, {}):
        refused = await client.post("/dashboard/api/privacy/erase", json=body, headers=boss)
        assert refused.status == 400, body
    not_json = await client.post("/dashboard/api/privacy/erase", data=b"{", headers=boss)
    assert not_json.status == 400 and (await not_json.json())["error"] == "bad_json"


async def test_erasure_waits_while_a_person_is_answering(client):
    add_agent(client, "li", "小李")
    add_agent(client, "boss", "张主管", role="supervisor")
    await ask_for_person(client, identity=signed("C10"))
    boss = {**await log_in(client, "boss"), **own_origin(client)}
    refused = await client.post("/dashboard/api/privacy/erase", json={"customer_id": "C10"}, headers=boss)
    assert refused.status == 409 and (await refused.json())["error"] == "ticket_open"
    assert "resolve" in (await refused.json())["message"]


async def test_the_notice_links_to_the_shops_policy_or_a_short_page_of_its_own(make_client, gateway_config):
    own = await make_client(gateway_config, privacy={"transcript_days": 90})
    page = await own.get("/privacy")
    text = await page.text()
    assert page.status == 200 and "个人信息" in text and "脱敏" in text and "90 天" in text
    shop = await make_client(gateway_config, privacy={"notice_url": "https://shop.example.com/privacy"})
    moved = await shop.get("/privacy", allow_redirects=False)
    assert moved.status == 302 and moved.headers["Location"] == "https://shop.example.com/privacy"


async def test_an_erased_visitors_resume_token_stops_working_at_once(client):
    """The gateway had kept the token it checked last in memory: after the erasure it still opened the
    conversation."""
    add_agent(client, "boss", "张主管", role="supervisor")
    hello = await (await client.post("/chat/api/hello", json={})).json()
    token = {"X-Resume-Token": hello["resume_token"]}
    said = await client.post("/chat/api/messages", headers=token,
                             json={"session_id": hello["session_id"], "client_id": "m1", "text": f"电话{PHONE}"})
    assert said.status == 200
    await client.server.app[RELAY].recorder.drain()
    boss = {**await log_in(client, "boss"), **own_origin(client)}
    erased = await client.post("/dashboard/api/privacy/erase", json={"conversation_id": hello["session_id"]},
                               headers=boss)
    assert erased.status == 200, await erased.text()
    again = await client.post("/chat/api/messages", headers=token,
                              json={"session_id": hello["session_id"], "client_id": "m2", "text": "还在吗"})
    assert again.status == 403 and (await again.json())["code"] == "bad_resume_token"
    history = await client.get("/chat/api/events", params={"session_id": hello["session_id"]}, headers=token)
    assert history.status == 403
