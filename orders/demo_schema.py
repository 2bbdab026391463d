"""The embedded demo order system's tables, on the product's one MetaData (migration 0006)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, String, Table

from core.db import metadata

TZ = DateTime(timezone=True)

# one row per order: the whole order as the contract's JSON (the shop's real system is elsewhere; the demo
# keeps what it would return)
demo_orders = Table(
    "demo_orders",
    metadata,
    Column("order_number", String(32), primary_key=True),
    Column("customer_id", String(64), nullable=False),
    Column("document", JSON, nullable=False),
    Column("seeded_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Index("ix_demo_orders_customer", "customer_id"),
)

# each change request once: the same request id again returns the stored result
demo_order_requests = Table(
    "demo_order_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("order_number", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("result", JSON, nullable=False),
    Column("created_at", TZ, nullable=False),
)
