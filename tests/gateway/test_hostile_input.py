"""The six kinds of hostile input the review's fuzzer broke the gateway with, each refused with a clear 4xx
JSON (or an error frame on a socket that stays open), and nothing of it in the log as a traceback."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.json_input import JsonInputError, loads
from bot.gateway.keys import SERVICE
from bot.gateway.unexpected_errors import last_resort
from tests.gateway.conftest import receive_until
from tests.gateway.test_handoff import add_agent, log_in

DEEP = "[" * 1000 + "]" * 1000
ORIGIN = {"Origin": "https://shop.example.com"}


def no_tracebacks(caplog) -> None:
    bad = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage() or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


@pytest.fixture(autouse=True)
def capture_everything(caplog):
    caplog.set_level(logging.INFO)


@pytest.mark.parametrize(
    "text, reason",
    [
        (DEEP, "too_deep"),
        ('{"a": ' * 40 + "1" + "}" * 40, "too_deep"),
        ('{"last_seq": 123456789012345678901234567890}', "number_out_of_range"),
        ('{"n": -9007199254740993}', "number_out_of_range"),
        ('{"text": "\\ud800"}', "bad_unicode"),
        (b'{"text": "\xff"}', "bad_unicode"),
        ("[1e999]", "invalid_json"),
        ("NaN", "invalid_json"),
        ("{", "invalid_json"),
        ("x" * 300_000, "too_large"),
    ],
)
def test_the_decoder_refuses_each_kind_with_a_reason(text, reason):
    with pytest.raises(JsonInputError) as refused:
        loads(text)
    assert refused.value.reason == reason


def test_the_decoder_takes_ordinary_json():
    assert loads('{"type": "hello", "last_seq": 9007199254740991, "x": [[1.5]], "t": "\\ud83d\\ude00"}') == {
        "type": "hello", "last_seq": 9007199254740991, "x": [[1.5]], "t": "😀"}


async def test_deep_json_gets_400_on_the_customer_api_and_the_unauthenticated_login(client, caplog):
    for path in ("/chat/api/hello", "/chat/api/messages", "/chat/api/frames", "/console/api/login"):
        origin = ORIGIN if path.startswith("/chat/") else {}  # the console takes its own origin only
        response = await client.post(path, data=DEEP, headers={**origin, "Content-Type": "application/json"})
        assert response.status == 400, path
        body = await response.json()
        assert "too_deep" in json.dumps(body), body
    no_tracebacks(caplog)


async def test_an_unknown_charset_gets_415(client, caplog):
    for path in ("/chat/api/hello", "/console/api/login"):
        origin = ORIGIN if path.startswith("/chat/") else {}
        headers = {**origin, "Content-Type": "application/json; charset=klingon"}
        response = await client.post(path, data=b'{"type": "hello"}', headers=headers)
        assert response.status == 415, path
        assert "UTF-8" in json.dumps(await response.json())
    # a UTF-8 alias is UTF-8
    utf8 = {**ORIGIN, "Content-Type": "text/plain; charset=UTF8"}
    ok = await client.post("/chat/api/hello", data=b"{}", headers=utf8)
    assert ok.status == 200
    no_tracebacks(caplog)


async def test_integers_beyond_64_bits_and_lone_surrogates_get_400_over_http(client, caplog):
    bodies = [
        '{"last_seq": 36893488147419103232}',
        '{"last_seq": 9223372036854775807}',
        '{"metadata": {"name": "\\ud800"}}',
        '{"session_id": "abc", "client_id": "c1", "text": "\\udfff"}',
    ]
    for body in bodies:
        for path in ("/chat/api/hello", "/chat/api/messages"):
            response = await client.post(path, data=body, headers={**ORIGIN, "Content-Type": "application/json"})
            assert response.status == 400, (path, body, await response.text())
    welcome = await (await client.post("/chat/api/hello", json={}, headers=ORIGIN)).json()
    for after in (str(2**70), "9223372036854775808", "-1", "1e3", "nan"):
        response = await client.get(
            "/chat/api/events", params={"session_id": welcome["session_id"], "after": after}, headers=ORIGIN
        )
        assert response.status == 400, after
    for wait in ("nan", "inf", "-inf"):
        response = await client.get(
            "/chat/api/events", params={"session_id": welcome["session_id"], "wait": wait}, headers=ORIGIN
        )
        assert response.status == 400, wait
    no_tracebacks(caplog)


async def test_the_customer_socket_answers_hostile_frames_with_errors_and_stays_open(client, caplog):
    ws = await client.ws_connect("/chat/socket")
    frames = [
        DEEP,
        '{"type": "hello", "last_seq": 36893488147419103232}',
        '{"type": "hello", "last_seq": 9223372036854775807}',
        '{"type": "hello", "metadata": {"name": "\\ud800"}}',
        "x" * 300_000,
    ]
    for frame in frames:
        await ws.send_str(frame)
        reply = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
        assert reply["code"] in ("invalid_json", "bad_field"), reply
    await ws.send_bytes(b'{"type": "ping"}')
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "invalid_json"
    await ws.send_str('{"type": "hello"}')
    welcome = (await receive_until(ws, lambda f: f["type"] == "welcome"))[-1]
    await ws.send_str('{"type": "message", "client_id": "c1", "text": "\\ud800\\u4f60\\u597d"}')
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["code"] == "invalid_json"
    await ws.send_json({"type": "message", "client_id": "c2", "text": "你好"})
    frames = await receive_until(ws, lambda f: f["type"] == "message" and f["sender"] == "bot")
    assert any(f["type"] == "ack" for f in frames) and welcome["session_id"]
    assert not ws.closed
    await ws.close()
    no_tracebacks(caplog)


async def test_the_console_socket_answers_bad_frames_and_stays_open(client, caplog):
    add_agent(client, "li", "小李")
    headers = await log_in(client, "li")
    ws = await client.ws_connect("/console/socket", headers=headers)
    for frame in (DEEP, '{"type": "ping", "n": 36893488147419103232}', '"\\ud800"'):
        await ws.send_str(frame)
        reply = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
        assert reply["error"] in ("too_deep", "number_out_of_range", "bad_unicode"), reply
    await ws.send_bytes(b"\xff\xfe")
    assert (await receive_until(ws, lambda f: f["type"] == "error"))[-1]["error"] == "invalid_json"
    await ws.send_str('{"type": "ping"}')
    await receive_until(ws, lambda f: f["type"] == "pong")
    await ws.close()
    no_tracebacks(caplog)


async def test_dashboard_dates_at_the_ends_of_the_calendar_get_400(client, caplog):
    add_agent(client, "zhang", "张主管", role="supervisor")
    headers = await log_in(client, "zhang")
    periods = [("9999-12-25", "9999-12-31"), ("0001-01-01", "0001-01-02"), (None, "9999-12-31"),
               ("0001-01-01", None), ("1999-12-31", "2000-01-02")]
    for path in ("/dashboard/api/summary", "/dashboard/api/unanswered", "/dashboard/api/export.csv"):
        for start, end in periods:
            params = {key: value for key, value in (("from", start), ("to", end)) if value}
            response = await client.get(path, params=params, headers=headers)
            assert response.status == 400, (path, params, await response.text())
            assert (await response.json())["error"] == "bad_period"
    no_tracebacks(caplog)


async def test_huge_ticket_ids_get_404(client, caplog):
    add_agent(client, "zhang", "张主管", role="supervisor")
    headers = await log_in(client, "zhang")
    for ticket_id in ("99999999999999999999999", "9223372036854775808", "2147483648", "0", "-1", "١٢"):
        for method, tail in (("GET", ""), ("GET", "/orders"), ("POST", "/take"), ("POST", "/messages"),
                             ("POST", "/transfer"), ("POST", "/resolve")):
            response = await client.request(
                method, f"/console/api/tickets/{ticket_id}{tail}", json={"text": "hi", "to": "li"}, headers=headers
            )
            assert response.status == 404, (ticket_id, tail, response.status, await response.text())
            assert (await response.json())["error"] == "no_such_ticket"
    no_tracebacks(caplog)


async def test_an_unexpected_exception_is_a_500_json_logged_once_masked(caplog):
    async def broken(request: web.Request) -> web.Response:
        raise KeyError("客户说 我的手机13800138000")

    app = web.Application(middlewares=[last_resort])
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/broken")
        assert response.status == 500
        body = await response.json()
        assert body["error"] == "internal_error" and body["incident"]
        assert "13800138000" not in json.dumps(body, ensure_ascii=False) and "KeyError" not in json.dumps(body)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert "KeyError" in line and body["incident"] in line and "/broken" in line
    assert "13800138000" not in line and not errors[0].exc_info


async def test_a_request_aiohttp_cannot_parse_is_a_400_logged_in_one_line_without_a_traceback(client, caplog):
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write("GET /chat/api/events?session_id=١٢&x=\xff HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert b" 400 " in status_line, status_line
    refused = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert refused and all(r.levelno == logging.INFO and not r.exc_info for r in refused)
    assert "malformed" in refused[0].getMessage() and "١٢" not in refused[0].getMessage()
    no_tracebacks(caplog)


async def test_an_exception_after_a_websocket_opened_is_logged_once_and_closes_it(caplog):
    async def broken_socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        raise ValueError("客户说 13800138000")

    app = web.Application(middlewares=[last_resort])
    app.router.add_get("/socket", broken_socket)
    async with TestClient(TestServer(app)) as test_client:
        ws = await test_client.ws_connect("/socket")
        await ws.send_str("hi")
        assert (await ws.receive(timeout=5)).type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len(errors) == 1 and "ValueError" in errors[0].getMessage(), [r.getMessage() for r in errors]
    assert "13800138000" not in errors[0].getMessage()


async def test_a_bug_behind_a_customer_frame_is_an_error_frame_and_the_socket_keeps_serving(client, caplog):
    service = client.server.app[SERVICE]
    real_control = service.control

    async def broken_control(*args, **kwargs):
        raise RuntimeError("客户说 13800138000")

    service.control = broken_control
    try:
        ws = await client.ws_connect("/chat/socket")
        await ws.send_str('{"type": "hello"}')
        await receive_until(ws, lambda f: f["type"] == "welcome")
        await ws.send_str('{"type": "cancel_handoff"}')
        error = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]
        assert error["code"] == "internal_error" and error["incident"] and "Runtime" not in json.dumps(error)
    finally:
        service.control = real_control
    await ws.send_str('{"type": "ping"}')
    await receive_until(ws, lambda f: f["type"] == "pong")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len(errors) == 1 and error["incident"] in errors[0].getMessage()
    assert "13800138000" not in errors[0].getMessage()
