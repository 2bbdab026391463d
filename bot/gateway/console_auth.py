"""Who is calling the console: a bearer token or the `console_session` cookie, checked against agent sessions.
Tokens never travel in URLs (they end up in logs, history and Referer headers): a `?token=` is refused."""

from __future__ import annotations

import json
from typing import Awaitable, Callable, Optional, TypeVar

from aiohttp import web

from bot.gateway.keys import AGENTS, HUB
from handoff.accounts import Agent, AgentDirectory

COOKIE = "console_session"
T = TypeVar("T")


def request_token(request: web.Request) -> str:
    """The token from `Authorization: Bearer` or the cookie (never the URL)."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE, "")
    # tokens are URL-safe base64: anything else (a raw byte arrives as a lone surrogate) is no token
    return token if token.isascii() else ""


@web.middleware
async def no_tokens_in_urls(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """400 {"error": "token_in_url"} for any console or dashboard request carrying `?token=`."""
    if "token" in request.query:
        return web.json_response(
            {"error": "token_in_url",
             "message": "tokens are not accepted in URLs: send the console_session cookie or Authorization: Bearer"},
            status=400,
        )
    return await handler(request)


async def current_agent(request: web.Request) -> Optional[Agent]:
    """The logged-in agent, or None."""
    token = request_token(request)
    if not token:
        return None
    return await with_agents(request, lambda agents: agents.agent_for_token(token))


async def with_agents(request: web.Request, call: Callable[[AgentDirectory], T]) -> T:
    """Runs `call` on the agent directory in the database thread (SQL only: passwords are checked in
    console_accounts.py's own threads)."""
    return await request.config_dict[HUB].run_blocking(call, request.config_dict[AGENTS])


def unauthorised() -> web.Response:
    return web.json_response(
        {"error": "not_logged_in", "message": "请先登录人工客服工作台"}, status=401,
        dumps=lambda body: json.dumps(body, ensure_ascii=False),
    )
