"""The action server's view of the shop's order system (orders/), made on first use, not at import: by then
the gateway has brought the database up to date."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import List, Optional

from rasa_sdk import Tracker

from orders.errors import OrderError
from orders.factory import order_system_from_settings
from orders.model import Order
from orders.port import OrderSystem

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def order_system() -> OrderSystem:
    """The process-wide order system the settings choose (`orders.backend`)."""
    return order_system_from_settings()


def verified_customer(tracker: Tracker) -> Optional[str]:
    """The customer id the shop signed for this conversation (the gateway passes `customer_id` in the message's
    metadata only when the signature checked out), or None for an anonymous visitor."""
    value = (tracker.latest_message.get("metadata") or {}).get("customer_id")
    return str(value) if value else None


async def verified_customers_orders(customer_id: Optional[str], limit: int = 5) -> List[Order]:
    """A verified customer's latest orders (the gateway passes a customer id only when the shop signed it);
    none for an anonymous visitor or when the order system cannot be reached."""
    if not customer_id:
        return []
    try:
        return await order_system().orders_of(customer_id, limit)
    except OrderError as error:
        logger.warning("the customer's orders could not be read (%s): asking for the number instead", error.code)
        return []
