"""The one interface the bot and the console use for the shop's orders; both implementations follow it."""

from __future__ import annotations

from typing import List, Optional, Protocol

from orders.model import AfterSale, Invoice, Order, Receiver


class OrderSystem(Protocol):
    """The shop's order system. Every change takes the caller's `request_id`: the same request made twice
    (a retry, a double click) changes the order once and returns the same result. Errors: `OrderNotFound`,
    `ActionRefused` (with the reason), `ShopUnavailable`."""

    async def orders_of(self, customer_id: str, limit: int = 10) -> List[Order]:
        """The customer's most recent orders, newest first."""

    async def order(self, order_number: str) -> Optional[Order]:
        """One order, or None."""

    async def phone_matches(self, order_number: str, last4: str) -> bool:
        """Whether the last four digits of the order's receiver phone are `last4` (an anonymous customer's
        proof of ownership); False for an unknown order."""

    async def urge_shipment(self, order_number: str, request_id: str) -> Order:
        """Records the customer's request to hurry the dispatch."""

    async def change_receiver(self, order_number: str, receiver: Receiver, request_id: str) -> Order:
        """Changes the address, phone or name before shipment."""

    async def cancel(self, order_number: str, reason: str, request_id: str) -> Order:
        """Cancels before shipment (the refund starts at once)."""

    async def start_after_sale(self, order_number: str, kind: str, reason: str, request_id: str) -> AfterSale:
        """Opens a return, exchange or refund request."""

    async def request_invoice(self, order_number: str, title: str, email: str, tax_id: str,
                              request_id: str) -> Invoice:
        """Asks for the order's electronic invoice."""

    async def close(self) -> None:
        """Releases connections."""
