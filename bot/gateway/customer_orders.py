"""What the agent's console shows of the customer's orders beside the transcript: the verified customer's
recent orders and the order in question (named on the page or in the conversation), from the shop's order
system (orders/). The receiver's phone is masked; an anonymous customer's orders are not listed, only an
order they named, marked as not verified."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from orders.errors import OrderError
from orders.model import AFTER_SALE_TEXT, Order, masked_phone
from orders.port import OrderSystem

# the shop's order numbers: 16 digits beginning with the year (docs/shop-facts.md)
ORDER_NUMBER = re.compile(r"(?<!\d)(20\d{14})(?!\d)")
RECENT_ORDERS = 5


def order_view(order: Order) -> Dict[str, Any]:
    """One order as the console shows it."""
    shipment = order.shipment
    latest = shipment.latest if shipment else None
    return {
        "order_number": order.order_number,
        "status": order.status,
        "status_text": order.status_text,
        "summary": order.summary,
        "created_at": order.created_at.isoformat(),
        "total": order.total,
        "items": [{"name": i.name, "variant": i.variant, "quantity": i.quantity, "unit_price": i.unit_price}
                  for i in order.items],
        "receiver": {"name": order.receiver.name, "phone": masked_phone(order.receiver.phone),
                     "address": order.receiver.address},
        "promised_dispatch_by": order.promised_dispatch_by.isoformat() if order.promised_dispatch_by else None,
        "shipment": None if not shipment else {
            "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
            "expected_delivery": shipment.expected_delivery.isoformat() if shipment.expected_delivery else None,
            "latest": None if not latest else {"at": latest.at.isoformat(), "description": latest.description,
                                               "location": latest.location},
        },
        "delivered_at": order.delivered_at.isoformat() if order.delivered_at else None,
        "after_sales": [{"id": a.id, "kind": AFTER_SALE_TEXT.get(a.kind, a.kind), "status": a.status,
                         "reason": a.reason} for a in order.after_sales],
    }


def mentioned_orders(texts: List[str]) -> List[str]:
    """Order numbers in the customer's messages, the most recent first, each once."""
    found: List[str] = []
    for text in reversed(texts):
        for number in reversed(ORDER_NUMBER.findall(text or "")):
            if number not in found:
                found.append(number)
    return found


async def customer_orders(system: OrderSystem, metadata: Dict[str, str], customer_texts: List[str]) -> Dict[str, Any]:
    """{"customer_id", "verified", "orders", "in_question", "unavailable"} for one conversation."""
    customer_id = metadata.get("customer_id")
    candidates = mentioned_orders(customer_texts) + [n for n in [metadata.get("order_number")] if n]
    result: Dict[str, Any] = {"customer_id": customer_id, "verified": bool(customer_id), "orders": [],
                              "in_question": None, "unavailable": False}
    try:
        orders = await system.orders_of(customer_id, RECENT_ORDERS) if customer_id else []
        result["orders"] = [order_view(o) for o in orders]
        in_question: Optional[Order] = None
        for number in candidates:
            found = next((o for o in orders if o.order_number == number), None) or await system.order(number)
            # a verified customer's question is about their own order; someone else's is not shown
            if found is not None and (not customer_id or found.customer_id == customer_id):
                in_question = found
                break
        if in_question is not None:
            result["in_question"] = {**order_view(in_question), "owner_verified": bool(customer_id)}
    except OrderError:
        result["unavailable"] = True
    return result
