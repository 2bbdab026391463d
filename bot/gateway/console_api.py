"""The agent console's JSON API (`/console/api/...`, documented in docs/console-api.md)."""

from __future__ import annotations

import asyncio
import json
from functools import wraps
from typing import Any, Awaitable, Callable, Dict

from aiohttp import web

from bot.gateway import parameters
from bot.gateway.console_accounts import LoginRefused
from bot.gateway.console_auth import COOKIE, current_agent, no_tokens_in_urls, request_token, unauthorised
from bot.gateway.console_socket import console_socket
from bot.gateway.customer_orders import customer_orders
from bot.gateway.forwarded import is_https
from bot.gateway.json_input import JsonInputError, read_json_object
from bot.gateway.keys import ACCOUNTS, AGENTS, AUDIT, CONSOLES, HANDOFF, HUB, KNOWLEDGE, ORDERS
from bot.gateway.request_limits import client_address, refuse_login_flood, trusted_proxies
from bot.gateway.same_origin import same_origin_only
from handoff.accounts import AccountError, Agent
from handoff.audit import CHANGE_PASSWORD, READ_ORDERS, READ_TRANSCRIPT
from handoff.queue import Ticket, TicketError
from handoff.services import HandoffService

MESSAGE_LIMIT = 5000
TICKET_ERROR_STATUS = {"no_such_ticket": 404, "not_your_ticket": 403, "ticket_closed": 409, "no_such_agent": 404}
Handler = Callable[[web.Request, Agent], Awaitable[web.StreamResponse]]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def _error(code: str, message: str, status: int) -> web.Response:
    return _json({"error": code, "message": message}, status)


def logged_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Runs the handler with the calling agent; 401 without a valid session; ticket errors become 4xx."""

    @wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        agent = await current_agent(request)
        if agent is None:
            return unauthorised()
        try:
            return await handler(request, agent)
        except TicketError as error:
            return _error(error.code, str(error), TICKET_ERROR_STATUS.get(error.code, 400))

    return wrapper


async def _body(request: web.Request) -> Dict[str, Any]:
    try:
        return await read_json_object(request)
    except JsonInputError as error:
        raise error.as_http() from None


def _handoff(request: web.Request) -> HandoffService:
    return request.config_dict[HANDOFF]


async def _view(request: web.Request, ticket: Ticket, agent: Agent) -> web.Response:
    """The ticket with its transcript; who read it is written to the audit log (by ticket, not text)."""
    view = await request.config_dict[CONSOLES].ticket_view(ticket)
    audit = request.config_dict[AUDIT]
    await request.config_dict[HUB].run_blocking(
        audit.record, agent.id, agent.username, READ_TRANSCRIPT, f"ticket:{ticket.id}"
    )
    return _json(view)


def _refused(refusal: LoginRefused) -> web.Response:
    response = _error(refusal.code, refusal.message, refusal.status)
    if refusal.retry_after:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def _with_session_cookie(request: web.Request, response: web.Response, token: str) -> web.Response:
    # Secure whenever the browser came over HTTPS (directly or through the trusted proxy), so the cookie
    # never travels in clear text; plain http://127.0.0.1 in development keeps working
    trusted = trusted_proxies(request)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", path="/", secure=is_https(request, trusted),
        max_age=int(request.config_dict[AGENTS].session_lifetime.total_seconds()),
    )
    return response


async def login(request: web.Request) -> web.Response:
    """POST /console/api/login {username, password} -> {token, agent}; sets the session cookie. 429 while the
    username or the address is locked out, 403 for a disabled account."""
    await refuse_login_flood(request)
    body = await _body(request)
    username, password = str(body.get("username", "")), str(body.get("password", ""))
    try:
        token, agent = await request.config_dict[ACCOUNTS].log_in(username, password, client_address(request))
    except LoginRefused as refusal:
        return _refused(refusal)
    return _with_session_cookie(request, _json({"token": token, "agent": agent.to_json(online=True)}), token)


@logged_in
async def logout(request: web.Request, agent: Agent) -> web.Response:
    """Ends this session and closes its open consoles (on every gateway)."""
    await request.config_dict[ACCOUNTS].log_out(agent, request_token(request))
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


@logged_in
async def change_password(request: web.Request, agent: Agent) -> web.Response:
    """POST /console/api/password {old_password, new_password} -> {token}: ends every session of the account
    (closing its open consoles) and starts a new one for this browser."""
    body = await _body(request)
    old, new = str(body.get("old_password", "")), str(body.get("new_password", ""))
    try:
        token = await request.config_dict[ACCOUNTS].change_password(agent, old, new, client_address(request))
    except AccountError:
        return _error("weak_password", "新密码至少 8 个字符", 400)
    except LoginRefused as refusal:
        return _refused(refusal)
    await request.config_dict[HUB].run_blocking(
        request.config_dict[AUDIT].record, agent.id, agent.username, CHANGE_PASSWORD, f"account:{agent.username}"
    )
    return _with_session_cookie(request, _json({"token": token}), token)


@logged_in
async def me(request: web.Request, agent: Agent) -> web.Response:
    online = any(c.agent.id == agent.id for c in request.config_dict[CONSOLES].connections)
    return _json(agent.to_json(online=online))


@logged_in
async def queue(request: web.Request, agent: Agent) -> web.Response:
    snapshot = await request.config_dict[CONSOLES].snapshot(agent)
    snapshot.pop("type")
    return _json(snapshot)


@logged_in
async def take_next(request: web.Request, agent: Agent) -> web.Response:
    ticket = await _handoff(request).take_next(agent)
    if ticket is None:
        return _error("queue_empty", "队列中没有等待的客户", 404)
    return await _view(request, ticket, agent)


@logged_in
async def take(request: web.Request, agent: Agent) -> web.Response:
    """POST /console/api/tickets/{id}/take: this waiting ticket, if nobody took it first."""
    try:
        ticket_id = parameters.ticket_id(request.match_info["ticket_id"])
    except ValueError as error:
        return _error("no_such_ticket", f"ticket ids: {error}", 404)
    ticket = await _handoff(request).take_next(agent, ticket_id)
    if ticket is None:
        return _error("not_waiting", "这位客户已被接入或已离开", 409)
    return await _view(request, ticket, agent)


async def _ticket_for(request: web.Request, agent: Agent) -> Any:
    try:
        ticket_id = parameters.ticket_id(request.match_info["ticket_id"])
    except ValueError as error:
        raise TicketError("no_such_ticket", f"ticket ids: {error}") from None
    ticket = await _handoff(request).get(ticket_id)
    if ticket is None:
        raise TicketError("no_such_ticket", f"there is no ticket {ticket_id}")
    if agent.role != "supervisor" and ticket.agent_id != agent.id:
        raise TicketError("not_your_ticket", f"ticket {ticket_id} is not assigned to you")
    return ticket


@logged_in
async def get_ticket(request: web.Request, agent: Agent) -> web.Response:
    ticket = await _ticket_for(request, agent)
    return await _view(request, ticket, agent)


@logged_in
async def ticket_orders(request: web.Request, agent: Agent) -> web.Response:
    """The customer's orders and the order in question, beside the ticket's transcript."""
    ticket = await _ticket_for(request, agent)
    hub = request.config_dict[HUB]
    metadata = await hub.shop_metadata(ticket.conversation_id) or {}
    texts = [m.text for m in await hub.history(ticket.conversation_id) if m.sender == "customer"]
    await hub.run_blocking(request.config_dict[AUDIT].record, agent.id, agent.username, READ_ORDERS,
                           f"ticket:{ticket.id}")
    return _json(await customer_orders(request.config_dict[ORDERS], metadata, texts))


@logged_in
async def post_message(request: web.Request, agent: Agent) -> web.Response:
    body = await _body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error("empty", "消息不能为空", 400)
    if len(text) > MESSAGE_LIMIT:
        return _error("too_long", f"消息最多 {MESSAGE_LIMIT} 个字", 413)
    ticket = await _ticket_for(request, agent)
    message = await _handoff(request).agent_reply(agent, ticket.id, text.strip())
    frame = message.to_frame()
    frame.pop("type")
    return _json(frame, 201)


@logged_in
async def transfer(request: web.Request, agent: Agent) -> web.Response:
    body = await _body(request)
    ticket = await _ticket_for(request, agent)
    moved = await _handoff(request).transfer(agent, ticket.id, str(body.get("to", "")))
    return await _view(request, moved, agent)


@logged_in
async def resolve(request: web.Request, agent: Agent) -> web.Response:
    body = await _body(request)
    ticket = await _ticket_for(request, agent)
    done = await _handoff(request).resolve(agent, ticket.id, str(body.get("note", ""))[:2000])
    return await _view(request, done, agent)


@logged_in
async def knowledge(request: web.Request, agent: Agent) -> web.Response:
    """The best knowledge-base entries for a query, for quick insertion into a reply."""
    query = request.query.get("q", "").strip()[:200]
    if not query:
        return _json({"results": []})
    access = await request.config_dict[KNOWLEDGE].get()
    hits = await asyncio.get_running_loop().run_in_executor(None, access.search.search, query, 5, 0.05)
    return _json({"results": [
        {"key": hit.entry.key, "question": hit.entry.question, "answer": hit.entry.answer} for hit in hits
    ]})


def create_console_app() -> web.Application:
    """The console sub-app, mounted at /console: its JSON API and its live socket."""
    app = web.Application(middlewares=[no_tokens_in_urls, same_origin_only])
    app.router.add_get("/socket", console_socket)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_post("/api/password", change_password)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/queue", queue)
    app.router.add_post("/api/tickets/next", take_next)
    app.router.add_get("/api/tickets/{ticket_id}", get_ticket)
    app.router.add_get("/api/tickets/{ticket_id}/orders", ticket_orders)
    app.router.add_post("/api/tickets/{ticket_id}/take", take)
    app.router.add_post("/api/tickets/{ticket_id}/messages", post_message)
    app.router.add_post("/api/tickets/{ticket_id}/transfer", transfer)
    app.router.add_post("/api/tickets/{ticket_id}/resolve", resolve)
    app.router.add_get("/api/knowledge", knowledge)
    return app
