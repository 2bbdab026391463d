"""The demo customers' orders (data/demo/orders.yml), their times set relative to the moment of seeding."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List

import yaml

from core.settings import project_path
from orders.model import (
    AWAITING_SHIPMENT,
    STATUSES,
    AfterSale,
    Invoice,
    Item,
    Order,
    Receiver,
    Shipment,
    TrackingEvent,
)
from orders.policy import promised_dispatch

ORDERS_FILE = "data/demo/orders.yml"


def _ago(now: datetime, hours: float) -> datetime:
    return now - timedelta(hours=float(hours))


def _order(entry: Dict[str, Any], now: datetime) -> Order:
    placed = _ago(now, entry["placed_hours_ago"])
    paid = placed + timedelta(minutes=3) if entry.get("payment_method") else None
    shipment = entry.get("shipment")
    items = [Item(**{**item, "quantity": int(item["quantity"]), "unit_price": str(item["unit_price"])})
             for item in entry["items"]]
    total = sum(int(round(float(i.unit_price) * 100)) * i.quantity for i in items)
    if entry["status"] not in STATUSES:
        raise ValueError(f"status {entry['status']!r} is not one of {', '.join(STATUSES)}")
    return Order(
        order_number=str(entry["order_number"]), customer_id=str(entry["customer"]), status=entry["status"],
        created_at=placed, items=items, total=f"{total // 100}.{total % 100:02d}",
        receiver=Receiver(**{k: str(v) for k, v in entry["receiver"].items()}),
        payment_method=str(entry.get("payment_method") or ""), paid_at=paid,
        promised_dispatch_by=promised_dispatch(paid) if paid and entry["status"] != "cancelled" else None,
        shipment=None if not shipment else Shipment(
            carrier=shipment["carrier"], tracking_number=str(shipment["tracking_number"]),
            shipped_at=_ago(now, shipment["shipped_hours_ago"]),
            expected_delivery=_ago(now, -float(shipment["expected_in_hours"])),
            events=[TrackingEvent(_ago(now, hours), description, location)
                    for hours, location, description in shipment.get("events") or []]),
        delivered_at=_ago(now, entry["delivered_hours_ago"]) if "delivered_hours_ago" in entry else None,
        after_sales=[AfterSale(a["id"], a["kind"], a["status"], a.get("reason", ""), _ago(now, a["hours_ago"]))
                     for a in entry.get("after_sales") or []],
        invoice=Invoice(**entry["invoice"]) if entry.get("invoice") else None,
    )


def demo_orders(now: datetime, path: Path | None = None) -> List[Order]:
    """Every demo order, as of `now`; a malformed entry names the file and the order."""
    path = path or project_path(ORDERS_FILE)
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("orders") or []
    orders = []
    for number, entry in enumerate(entries, 1):
        try:
            orders.append(_order(entry, now))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: order {number} ({entry.get('order_number', '?')}): {error}") from None
    unpaid_waiting = [o.order_number for o in orders if o.status == AWAITING_SHIPMENT and o.paid_at is None]
    if unpaid_waiting:
        raise ValueError(f"{path}: orders awaiting shipment need a payment_method: {', '.join(unpaid_waiting)}")
    return orders
