"""Every service the gateway's handlers reach through the application, as typed `web.AppKey`s.

Handlers read them with `request.config_dict[KEY]`, which works in the main app and in the console and
dashboard sub-apps alike. This module imports services only, never a view, so views can import it at
the top and nothing imports in a circle.
"""

from __future__ import annotations

from aiohttp import web

from analytics.dashboard_data import DashboardData
from bot.gateway.address_limits import AddressLimits
from bot.gateway.bot_relay import BotRelay
from bot.gateway.config import GatewayConfig
from bot.gateway.console_accounts import ConsoleAccounts
from bot.gateway.console_hub import ConsoleHub
from bot.gateway.console_settings import ConsoleSettings
from bot.gateway.conversations import ChatService
from bot.gateway.customer_notices import CustomerNotices
from bot.gateway.hub import ConversationHub
from bot.gateway.identity import CustomerIdentities
from bot.gateway.knowledge_lookup import LazyKnowledge
from bot.gateway.personal_data import PersonalData
from bot.gateway.rasa_client import RasaClient
from handoff.accounts import AgentDirectory
from handoff.audit import AuditLog
from handoff.services import HandoffService
from orders.port import OrderSystem

CONFIG = web.AppKey("config", GatewayConfig)
HUB = web.AppKey("hub", ConversationHub)
SERVICE = web.AppKey("service", ChatService)
RELAY = web.AppKey("relay", BotRelay)
RASA = web.AppKey("rasa", RasaClient)
HANDOFF = web.AppKey("handoff", HandoffService)
NOTICES = web.AppKey("notices", CustomerNotices)
AGENTS = web.AppKey("agents", AgentDirectory)
CONSOLES = web.AppKey("consoles", ConsoleHub)
KNOWLEDGE = web.AppKey("knowledge", LazyKnowledge)
DASHBOARD = web.AppKey("dashboard", DashboardData)
IDENTITIES = web.AppKey("identities", CustomerIdentities)
ORDERS = web.AppKey("orders", OrderSystem)
PERSONAL_DATA = web.AppKey("personal_data", PersonalData)
ACCOUNTS = web.AppKey("accounts", ConsoleAccounts)
AUDIT = web.AppKey("audit", AuditLog)
CONSOLE_SETTINGS = web.AppKey("console_settings", ConsoleSettings)
ADDRESS_LIMITS = web.AppKey("address_limits", AddressLimits)
