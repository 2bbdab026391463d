"""The order system the settings choose (settings.yml, section `orders`)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from sqlalchemy.engine import Engine

from core.db import absolute_sqlite_url, create_database_engine
from core.settings import SettingsError, settings
from orders.circuit_breaker import CircuitBreaker
from orders.demo_system import DemoOrderSystem
from orders.port import OrderSystem
from orders.shop_api import ShopApiOrderSystem


def order_system_from_settings(values: Optional[Mapping[str, Dict[str, Any]]] = None,
                               engine: Optional[Engine] = None) -> OrderSystem:
    """`demo`: the embedded demo in the product's database (`engine`, or one made from `database.url`, which
    the gateway has migrated: it owns the schema); `http`: the shop's REST API."""
    values = values or settings()
    section = dict(values.get("orders") or {})
    backend = str(section.get("backend") or "demo")
    if backend == "demo":
        if engine is None:
            engine = create_database_engine(absolute_sqlite_url(str((values.get("database") or {}).get("url"))))
        return DemoOrderSystem(engine)
    if backend == "http":
        return ShopApiOrderSystem(
            str(section.get("api_url") or ""), str(section.get("api_token") or ""),
            float(section.get("timeout_seconds", 1.5)), int(section.get("retries", 1)),
            CircuitBreaker(int(section.get("breaker_failures", 5)), float(section.get("breaker_reset_seconds", 30))),
        )
    raise SettingsError(f"settings.yml: orders.backend must be demo or http, not {backend!r} (SHOP_ORDERS_BACKEND)")
