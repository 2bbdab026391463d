"""The gateway's app factory: one aiohttp application for the widget, the demo shop page and the customer channel.

Route map (a message's way in is `/chat/socket`, or `/chat/api/*` without WebSockets):

    GET  /                   demo shop page with the widget embedded
    GET  /static/...         widget.js, widget.css
    GET  /chat/socket        customer WebSocket            -> customer_socket.py
    POST /chat/api/hello     HTTP fallback: start/resume   -> customer_http.py
    POST /chat/api/messages  HTTP fallback: send
    GET  /chat/api/events    HTTP fallback: long poll
    GET  /health             gateway and Rasa status
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import aiohttp
from aiohttp import web

from bot.gateway import customer_http
from bot.gateway.bot_relay import BotRelay
from bot.gateway.config import GatewayConfig
from bot.gateway.conversations import ChatService
from bot.gateway.customer_socket import customer_socket
from bot.gateway.hub import ConversationHub
from bot.gateway.rasa_client import RasaClient
from bot.gateway.rate_limit import RateLimiter
from bot.gateway.store import ConversationStore, create_database_engine

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONFIG = web.AppKey("config", GatewayConfig)
HUB = web.AppKey("hub", ConversationHub)
SERVICE = web.AppKey("service", ChatService)
RELAY = web.AppKey("relay", BotRelay)
RASA = web.AppKey("rasa", RasaClient)


async def demo_page(request: web.Request) -> web.FileResponse:
    """The demo shop page that embeds the widget."""
    return web.FileResponse(STATIC_DIR / "demo.html")


async def health(request: web.Request) -> web.Response:
    """{"gateway": "ok", "rasa": "up" | "down"}; 200 as long as the gateway itself serves."""
    rasa_url = request.app[CONFIG].rasa_url
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            async with session.get(rasa_url + "/") as response:
                rasa = "up" if response.status == 200 else "down"
    except (aiohttp.ClientError, OSError, TimeoutError):
        rasa = "down"
    return web.json_response({"gateway": "ok", "rasa": rasa}, dumps=json.dumps)


def create_app(config: Optional[GatewayConfig] = None) -> web.Application:
    """Builds the gateway from `config` (default: settings.yml and SHOP_* variables)."""
    config = config or GatewayConfig.from_settings()
    app = web.Application(middlewares=[customer_http.cross_origin], client_max_size=1024 * 1024)
    hub = ConversationHub(ConversationStore(create_database_engine(config.database_url)), config.history_limit)
    rasa = RasaClient(config.rasa_url, config.bot_timeout_seconds, config.rasa_connections)
    relay = BotRelay(hub, rasa, config.bot_notice_after_seconds, config.unavailable_text, config.slow_text)
    limiter = RateLimiter(config.rate_limit_burst, config.rate_limit_per_minute)
    app[CONFIG] = config
    app[HUB] = hub
    app[RASA] = rasa
    app[RELAY] = relay
    app[SERVICE] = ChatService(hub, relay, limiter, config.max_message_length)

    async def start(app: web.Application) -> None:
        await rasa.start()

    async def stop(app: web.Application) -> None:
        await relay.drain()
        await rasa.close()
        hub.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_get("/", demo_page)
    app.router.add_get("/health", health)
    app.router.add_get("/chat/socket", customer_socket)
    app.router.add_post("/chat/api/hello", customer_http.hello)
    app.router.add_post("/chat/api/messages", customer_http.post_message)
    app.router.add_get("/chat/api/events", customer_http.events)
    app.router.add_route("OPTIONS", "/chat/api/{tail:.*}", customer_http.events)
    app.router.add_static("/static/", STATIC_DIR)
    return app
