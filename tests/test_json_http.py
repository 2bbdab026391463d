"""The kept-alive JSON client (bot/json_http.py) against real aiohttp servers on loopback: connections kept and
reused, closed when the server or the clock says so, errors as aiohttp's, a late response never handed to the
next call."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import orjson
import pytest
from aiohttp import web

from bot import json_http
from bot.json_http import JsonPoster, NotConnected


async def _serve(handler, keepalive_timeout: float = 75.0):
    """An aiohttp server on a free port with `handler` at /hook; (runner, url, peers seen)."""
    peers = []

    async def hook(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername"))
        return await handler(request)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, keepalive_timeout=keepalive_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - the port the OS chose
    return runner, f"http://127.0.0.1:{port}/hook?token=t1", peers


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"got": await request.json(), "token": request.query.get("token"),
                              "shop": request.headers.get("X-Shop")})


async def test_calls_share_one_kept_alive_connection_with_the_url_and_headers_given():
    runner, url, peers = await _serve(_echo)
    try:
        poster = JsonPoster(url, headers={"X-Shop": "1", "Content-Length": "999"})
        for number in range(5):
            response = await poster.post(orjson.dumps({"n": number, "text": "退款多久到账"}), timeout=5)
            assert response.status == 200 and response.content_type == "application/json"
            assert response.json() == {"got": {"n": number, "text": "退款多久到账"}, "token": "t1", "shop": "1"}
        assert poster.opened == 1 and len(set(peers)) == 1 and len(peers) == 5
        await poster.close()
    finally:
        await runner.cleanup()


async def test_an_error_status_is_returned_with_its_body():
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": "no such action"}, status=400, reason="Bad Request")

    runner, url, _ = await _serve(refuse)
    try:
        response = await JsonPoster(url).post(b"{}", timeout=5)
        assert (response.status, response.reason, response.json()) == (400, "Bad Request", {"error": "no such action"})
    finally:
        await runner.cleanup()


async def test_a_chunked_response_is_read_whole():
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"messages": [', b'"\xe5\xa5\xbd"', b"]}"):
            await response.write(part)
        await response.write_eof()
        return response

    runner, url, _ = await _serve(chunked)
    try:
        poster = JsonPoster(url)
        for _ in range(2):
            response = await poster.post(b"{}", timeout=5)
            assert response.content_type == "application/json" and response.json() == {"messages": ["好"]}
        assert poster.opened == 1
    finally:
        await runner.cleanup()


async def test_a_server_that_says_close_gets_a_new_connection_next_time():
    async def closing(request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.force_close()
        return response

    runner, url, peers = await _serve(closing)
    try:
        poster = JsonPoster(url)
        for _ in range(3):
            assert (await poster.post(b"{}", timeout=5)).json() == {"ok": True}
        assert poster.opened == 3 and len(set(peers)) == 3
    finally:
        await runner.cleanup()


async def test_a_connection_the_server_closed_while_idle_is_not_written_to():
    runner, url, peers = await _serve(_echo, keepalive_timeout=0.2)
    try:
        poster = JsonPoster(url)
        await poster.post(b"{}", timeout=5)
        idle = poster._idle[-1]
        for _ in range(50):  # the server closes the idle connection meanwhile
            await asyncio.sleep(0.1)
            if idle.lost:
                break
        assert idle.lost
        assert (await poster.post(b'{"again": 1}', timeout=5)).json()["got"] == {"again": 1}
        assert poster.opened == 2 and len(set(peers)) == 2
    finally:
        await runner.cleanup()


async def test_a_connection_idle_too_long_is_closed_here_before_the_server_does(monkeypatch):
    monkeypatch.setattr(json_http, "IDLE_SECONDS", 0.1)
    runner, url, peers = await _serve(_echo)
    try:
        poster = JsonPoster(url)
        await poster.post(b"{}", timeout=5)
        await asyncio.sleep(0.3)
        await poster.post(b"{}", timeout=5)
        assert poster.opened == 2 and len(set(peers)) == 2
    finally:
        await runner.cleanup()


async def test_a_refused_connection_raises_not_connected_as_an_aiohttp_connection_error():
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # nothing listens on it
    with pytest.raises(NotConnected) as refused:
        await JsonPoster(f"http://127.0.0.1:{port}/hook").post(b"{}", timeout=5)
    assert isinstance(refused.value, aiohttp.ClientConnectionError) and str(port) in str(refused.value)


async def test_a_late_response_is_never_handed_to_the_next_call():
    async def slow_first(request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("slow"):
            await asyncio.sleep(0.5)
        return web.json_response(body)

    runner, url, _ = await _serve(slow_first)
    try:
        poster = JsonPoster(url)
        with pytest.raises(asyncio.TimeoutError):
            await poster.post(b'{"slow": true}', timeout=0.1)
        # the timed-out call's connection was closed, so its answer cannot arrive here
        assert (await poster.post(b'{"second": 1}', timeout=5)).json() == {"second": 1}
        await asyncio.sleep(0.6)
        assert (await poster.post(b'{"third": 1}', timeout=5)).json() == {"third": 1}
        assert poster.opened == 2
    finally:
        await runner.cleanup()


async def test_a_connection_lost_before_the_response_raises_server_disconnected():
    async def hang_up(request: web.Request) -> web.Response:
        await request.read()
        request.transport.close()
        await asyncio.sleep(0.2)
        return web.json_response({})

    runner, url, _ = await _serve(hang_up)
    try:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await JsonPoster(url).post(b"{}", timeout=5)
    finally:
        await runner.cleanup()


async def test_callers_beyond_the_connection_limit_wait_for_a_kept_connection():
    running = []
    most = []

    async def counted(request: web.Request) -> web.Response:
        running.append(1)
        most.append(len(running))
        await asyncio.sleep(0.05)
        running.pop()
        return web.json_response(await request.json())

    runner, url, _ = await _serve(counted)
    try:
        poster = JsonPoster(url, max_connections=2)
        answers = await asyncio.gather(*(poster.post(orjson.dumps({"n": n}), timeout=5) for n in range(8)))
        assert [answer.json()["n"] for answer in answers] == list(range(8))
        assert poster.opened == 2 and max(most) == 2
    finally:
        await runner.cleanup()


async def test_only_http_urls_with_a_host_are_taken():
    with pytest.raises(ValueError, match="http://"):
        JsonPoster("https://127.0.0.1/hook")
