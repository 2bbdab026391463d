"""The plain-HTTP customer channel: the same conversation without WebSockets, with the same checks."""

from __future__ import annotations

import asyncio

from tests.gateway.conftest import open_conversation, receive_until, resuming, signed, token_of


async def hello(client, **body):
    response = await client.post("/chat/api/hello", json=body)
    assert response.status == 200
    return await response.json()


async def test_hello_send_and_long_poll_get_the_reply(client, stand_in_rasa):
    welcome = await hello(client, identity=signed("C1"))
    session, token = welcome["session_id"], token_of(welcome)
    assert welcome["type"] == "welcome" and welcome["messages"] == []
    async def poll_until_reply():
        # a long poll also wakes for typing and notices, as the widget wants; it polls again
        states = []
        while True:
            events = await (await client.get(f"/chat/api/events?session_id={session}&after=1&wait=5",
                                             headers=token)).json()
            states.append(events["typing"])
            if events["messages"]:
                return events, states

    poll = asyncio.create_task(poll_until_reply())
    ack = await (await client.post("/chat/api/messages", json={"session_id": session, "client_id": "h1",
                                                              "text": "怎么退货"}, headers=token)).json()
    assert ack == {"type": "ack", "client_id": "h1", "id": ack["id"], "seq": 1}
    events, typing_states = await poll
    assert [m["text"] for m in events["messages"]] == ["收到：怎么退货"]
    assert events["typing"] is False and typing_states[-1] is False
    assert stand_in_rasa.received[-1]["metadata"] == {"customer_id": "C1", "tier": ""}
    resumed = await hello(client, **resuming(welcome), identity=signed("C1"))
    assert resumed["resumed"] is True and [m["seq"] for m in resumed["messages"]] == [1, 2]


async def test_long_poll_returns_empty_after_its_wait(client):
    welcome = await hello(client)
    started = asyncio.get_running_loop().time()
    events = await (await client.get(f"/chat/api/events?session_id={welcome['session_id']}&after=0&wait=0.3",
                                     headers=token_of(welcome))).json()
    assert events["messages"] == [] and asyncio.get_running_loop().time() - started >= 0.25


async def test_a_websocket_tab_sees_what_an_http_tab_sends(client):
    ws, welcome = await open_conversation(client)
    await client.post("/chat/api/messages", json={"session_id": welcome["session_id"], "client_id": "x",
                                                  "text": "从另一个页面发的"}, headers=token_of(welcome))
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    assert [f["text"] for f in frames if f["type"] == "message"] == ["从另一个页面发的", "收到：从另一个页面发的"]


async def test_bad_input_over_http_gets_the_same_errors_with_fitting_status_codes(client):
    welcome = await hello(client)
    session, token = welcome["session_id"], token_of(welcome)
    cases = [
        ({"session_id": session, "client_id": "a", "text": "  "}, 400, "empty"),
        ({"session_id": session, "client_id": "a", "text": "长" * 10001}, 413, "too_long"),
        ({"session_id": "nope", "client_id": "a", "text": "你好"}, 403, "bad_resume_token"),
        ({"client_id": "a", "text": "你好"}, 404, "unknown_session"),
        ({"session_id": session, "text": "你好"}, 400, "bad_field"),
    ]
    for body, status, code in cases:
        response = await client.post("/chat/api/messages", json=body, headers=token)
        assert response.status == status, body
        assert (await response.json())["code"] == code
    response = await client.post("/chat/api/messages", data="{oops", headers={"Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["code"] == "invalid_json"
    response = await client.get("/chat/api/events?session_id=nope", headers=token)
    assert response.status == 403
    response = await client.get(f"/chat/api/events?session_id={session}&after=abc", headers=token)
    assert response.status == 400 and (await response.json())["code"] == "bad_field"


async def test_rate_limit_over_http_is_429_with_retry_after(client):
    welcome = await hello(client)
    statuses = []
    for number in range(7):
        response = await client.post("/chat/api/messages", json={"session_id": welcome["session_id"],
                                                                 "client_id": f"r{number}", "text": "快"},
                                     headers=token_of(welcome))
        statuses.append(response.status)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    assert (await response.json())["retry_after"] >= 1


async def test_cross_origin_calls_get_cors_for_allowed_shops_and_403_for_others(client):
    shop = {"Origin": "https://shop.example.com"}
    preflight = await client.options("/chat/api/messages", headers={**shop, "Access-Control-Request-Method": "POST"})
    assert preflight.status == 204 and preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    allowed = await client.post("/chat/api/hello", json={}, headers=shop)
    assert allowed.status == 200 and allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    refused = await client.post("/chat/api/hello", json={}, headers={"Origin": "https://evil.example.net"})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers


async def test_the_demo_page_and_the_widget_files_are_served(client):
    page = await client.get("/")
    html = await page.text()
    assert page.status == 200 and '<script src="/static/widget.js"' in html
    for path, kind in [("/static/widget.js", "javascript"), ("/static/widget.css", "css")]:
        response = await client.get(path)
        assert response.status == 200 and kind in response.headers["Content-Type"]
