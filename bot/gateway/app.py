"""The gateway's app factory: one aiohttp application for the widget, the demo shop page and the customer channel.

Route map (a message's way in is `/chat/socket`, or `/chat/api/*` without WebSockets):

    GET  /                   demo shop page with the widget embedded
    GET  /static/...         widget.js, widget.css
    GET  /chat/socket        customer WebSocket            -> customer_socket.py
    POST /chat/api/hello     HTTP fallback: start/resume   -> customer_http.py
    POST /chat/api/messages  HTTP fallback: send
    GET  /chat/api/events    HTTP fallback: long poll
    GET  /health             gateway and Rasa status
    GET  /metrics            the operator's figures (Prometheus text)  -> operations.py
    GET  /console            agent console page              -> static/console.html
    *    /console/api/...    agent console JSON API          -> console_api.py (docs/console-api.md)
    GET  /console/socket     agent console live updates      -> console_socket.py
    GET  /dashboard          supervisor dashboard page        -> static/dashboard.html
    GET  /dashboard/api/...  figures, unanswered, CSV export  -> dashboard_api.py (docs/dashboard-api.md)
    *    /dashboard/api/privacy/...  one customer's data: export, erase -> privacy_api.py (docs/privacy.md)
    GET  /privacy            the privacy notice's link (privacy.notice_url)   -> privacy_api.py
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Optional

import aiohttp
from aiohttp import web

from analytics.dashboard_data import DashboardData
from analytics.events import EventLog
from analytics.metrics import CostSettings
from bot.gateway import customer_http
from bot.gateway.address_limits import AddressLimits, Budget
from bot.gateway.bot_relay import BotRelay
from bot.gateway.config import GatewayConfig
from bot.gateway.console_accounts import ConsoleAccounts
from bot.gateway.console_api import create_console_app
from bot.gateway.console_hub import ConsoleHub
from bot.gateway.console_sessions import SessionCloser
from bot.gateway.console_settings import ConsoleSettings
from bot.gateway.conversations import ChatService
from bot.gateway.customer_notices import CustomerNotices
from bot.gateway.customer_socket import customer_socket
from bot.gateway.dashboard_api import create_dashboard_app
from bot.gateway.demo_page import demo_page
from bot.gateway.event_recorder import EventRecorder
from bot.gateway.hub import ConversationHub
from bot.gateway.identity import CustomerIdentities
from bot.gateway.json_input import MAX_BODY_BYTES
from bot.gateway.keys import (
    ACCOUNTS,
    ADDRESS_LIMITS,
    AGENTS,
    AUDIT,
    CONFIG,
    CONSOLE_SETTINGS,
    CONSOLES,
    DASHBOARD,
    HANDOFF,
    HUB,
    IDENTITIES,
    KNOWLEDGE,
    NOTICES,
    ORDERS,
    PERSONAL_DATA,
    RASA,
    RELAY,
    SERVICE,
)
from bot.gateway.knowledge_lookup import LazyKnowledge
from bot.gateway.login_throttle import MemoryLoginThrottle, RedisLoginThrottle
from bot.gateway.malformed_requests import quiet_malformed_requests
from bot.gateway.operations import metrics
from bot.gateway.pending import PendingSweep
from bot.gateway.personal_data import PersonalData
from bot.gateway.privacy_api import add_privacy_routes, privacy_page
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rasa_trackers import RasaTrackers
from bot.gateway.rate_limit import Limiter, RateLimiter
from bot.gateway.retention import RetentionJob, RetentionWindows
from bot.gateway.shared_state import SharedState
from bot.gateway.store import ConversationStore
from bot.gateway.unexpected_errors import last_resort
from core.db import create_database_engine, upgrade_schema
from handoff.accounts import AgentDirectory
from handoff.audit import AuditLog
from handoff.business_hours import BusinessHours
from handoff.escalation import Rules
from handoff.queue import TicketQueue
from handoff.services import HandoffService
from orders.factory import order_system_from_settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def console_page(request: web.Request) -> web.FileResponse:
    """The agent console (it logs in through the API)."""
    return web.FileResponse(STATIC_DIR / "console.html")


async def dashboard_page(request: web.Request) -> web.FileResponse:
    """The supervisor dashboard (it logs in through the console API)."""
    return web.FileResponse(STATIC_DIR / "dashboard.html")


async def health(request: web.Request) -> web.Response:
    """{"gateway": "ok", "rasa": "up" | "down", "rasa_processes": {url: "up" | "down"}}: "up" while at least
    one Rasa answers; 200 as long as the gateway itself serves."""
    urls = request.config_dict[RASA].base_urls

    async def state(session: aiohttp.ClientSession, url: str) -> str:
        try:
            async with session.get(url + "/") as response:
                return "up" if response.status == 200 else "down"
        except (aiohttp.ClientError, OSError, TimeoutError):
            return "down"

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        states = await asyncio.gather(*(state(session, url) for url in urls))
    processes = dict(zip(urls, states, strict=False))
    rasa = "up" if "up" in states else "down"
    return web.json_response({"gateway": "ok", "rasa": rasa, "rasa_processes": processes}, dumps=json.dumps)


def replica_header(name: str):
    """Every response (WebSocket upgrades and errors too) names the gateway replica that served it."""

    async def add_header(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Shop-Gateway"] = name

    return add_header


def create_app(config: Optional[GatewayConfig] = None) -> web.Application:
    """Builds the gateway from `config` (default: settings.yml and SHOP_* variables)."""
    config = config or GatewayConfig.from_settings()
    quiet_malformed_requests()
    # last_resort first, so it also catches what the other middlewares raise
    app = web.Application(middlewares=[last_resort, customer_http.cross_origin], client_max_size=MAX_BODY_BYTES)
    app.on_response_prepare.append(replica_header(config.replica))
    engine = create_database_engine(config.database_url)
    # migrations run once, here, before any store touches the database
    upgrade_schema(engine)
    shared = SharedState.connect(config.redis_url) if config.redis_url else None
    hub = ConversationHub(
        ConversationStore(engine, config.pending_lease_seconds), config.history_limit,
        fan_out=shared.fan_out if shared else None, live_states=shared.live_states if shared else None,
    )
    if shared:
        shared.follow(hub)
    rasa = RasaClient(config.rasa_url, config.bot_timeout_seconds, config.rasa_connections)
    limiter: Limiter = (
        shared.rate_limiter(config.rate_limit_burst, config.rate_limit_per_minute) if shared
        else RateLimiter(config.rate_limit_burst, config.rate_limit_per_minute)
    )
    address_limits = AddressLimits.build(
        {kind: Budget(getattr(config, f"address_{kind}_burst"), getattr(config, f"address_{kind}_per_minute"))
         for kind in ("conversations", "messages", "leave_messages", "logins")},
        config.trusted_proxies,
        lambda kind, budget: (
            shared.rate_limiter(budget.burst, budget.per_minute, f"shop:rate:address:{kind}:") if shared
            else RateLimiter(budget.burst, budget.per_minute)
        ),
    )
    handoff = config.handoff
    agent_timeout = float(handoff.get("agent_timeout_seconds", 120))
    agents = AgentDirectory(engine, float(handoff.get("session_hours", 12)))
    service = HandoffService(
        engine, TicketQueue(engine), agents, hub,
        Rules.from_settings(config.escalation), BusinessHours.from_settings(handoff), hub.run_blocking,
        online_window_seconds=min(60.0, agent_timeout),
        default_handling_seconds=60 * float(handoff.get("default_handling_minutes", 8)),
    )
    # the handoff service's listeners, in this order: the log, the customer, the consoles
    recorder = EventRecorder(hub, EventLog(engine))
    recorder.listen_to(service.events)
    notices = CustomerNotices(hub, service)
    consoles = ConsoleHub(service, hub)
    console_settings = ConsoleSettings.from_settings(config.console)
    window, lockout = 60 * console_settings.failure_window_minutes, 60 * console_settings.lockout_minutes
    accounts = ConsoleAccounts(
        agents, hub.run_blocking,
        RedisLoginThrottle(shared.redis, window, lockout) if shared else MemoryLoginThrottle(window, lockout),
        SessionCloser(hub, consoles), consoles, service, console_settings, agent_timeout,
    )
    relay = BotRelay(
        hub, rasa, config.bot_notice_after_seconds, config.unavailable_text, config.slow_text,
        typing_after=config.bot_typing_after_seconds, handoff=service, recorder=recorder,
        retry_seconds=config.bot_retry_seconds, give_up_seconds=config.bot_give_up_seconds,
    )
    app[CONFIG] = config
    app[HUB] = hub
    app[RASA] = rasa
    app[RELAY] = relay
    app[HANDOFF] = service
    app[NOTICES] = notices
    app[AGENTS] = agents
    app[CONSOLES] = consoles
    app[CONSOLE_SETTINGS] = console_settings
    app[ACCOUNTS] = accounts
    app[AUDIT] = AuditLog(engine)
    app[KNOWLEDGE] = LazyKnowledge()
    app[DASHBOARD] = DashboardData(engine, hub.run_blocking, CostSettings.from_settings(config.analytics))
    app[ORDERS] = order_system_from_settings({"orders": config.orders}, engine)
    identities = CustomerIdentities.from_settings(config.identity)
    app[IDENTITIES] = identities
    app[ADDRESS_LIMITS] = address_limits
    app[SERVICE] = ChatService(hub, relay, service, notices, limiter, config.max_message_length, identities,
                               address_limits=address_limits)
    sweep = PendingSweep(hub, app[SERVICE], relay, interval=config.pending_sweep_seconds)
    # personal data: supervisors' export and erasure, and the retention windows enforced in the background
    trackers = RasaTrackers(config.rasa_tracker_store_url)
    app[PERSONAL_DATA] = PersonalData(engine, trackers)
    retention = RetentionJob(engine, trackers, RetentionWindows.from_settings(config.privacy))

    async def requeue_forever() -> None:
        # tickets of agents who closed their console or lost their connection go back to the queue
        while True:
            await asyncio.sleep(max(1.0, agent_timeout / 4))
            try:
                await service.requeue_stale(agent_timeout)
            except Exception:  # noqa: BLE001 - keep the loop alive; the next round retries
                logger.exception("requeueing stale tickets failed")

    async def start(app: web.Application) -> None:
        await rasa.start()
        if shared:
            await shared.start()
        # masking loads spaCy and jieba, the escalation rules the shop dictionary (a few seconds): do it now,
        # not on a customer's first message
        from analytics.masking import mask
        from handoff.customer_words import tokens

        def warm_up() -> None:
            # every path of the masker: formats, an address (spaCy), a name beside a phone (jieba's tags)
            mask("收件人张三 13812345678 北京市朝阳区建国路88号1203室")
            tokens("转人工")

        app["warm_up"] = asyncio.get_running_loop().run_in_executor(None, warm_up)
        app["requeue"] = asyncio.create_task(requeue_forever())
        # what a gateway left unfinished (this one before a restart, or another that died) is handled here
        app["pending"] = asyncio.create_task(sweep.run_forever())
        app["retention"] = asyncio.create_task(retention.run_forever())

    async def stop(app: web.Application) -> None:
        await app["warm_up"]
        for task in (app["requeue"], app["pending"], app["retention"]):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await relay.drain()
        await rasa.close()
        await app[ORDERS].close()
        await recorder.drain()
        recorder.close()
        if shared:
            await shared.close()
        accounts.close()
        hub.close()
        trackers.close()
        engine.dispose()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/", demo_page)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/chat/socket", customer_socket)
    app.router.add_post("/chat/api/hello", customer_http.hello)
    app.router.add_post("/chat/api/messages", customer_http.post_message)
    app.router.add_get("/chat/api/events", customer_http.events)
    app.router.add_post("/chat/api/frames", customer_http.post_frame)
    app.router.add_route("OPTIONS", "/chat/api/{tail:.*}", customer_http.preflight)
    # the pages first: a sub-app claims every path under its prefix
    app.router.add_get("/console", console_page)
    app.router.add_get("/dashboard", dashboard_page)
    app.add_subapp("/console", create_console_app())
    dashboard = create_dashboard_app()
    add_privacy_routes(dashboard)
    app.add_subapp("/dashboard", dashboard)
    app.router.add_get("/privacy", privacy_page)
    app.router.add_static("/static/", STATIC_DIR)
    return app
