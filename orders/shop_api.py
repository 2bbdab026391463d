"""`OrderSystem` over the shop's REST API (the contract: docs/shop-order-api.md), with a timeout on every
call, retries of what is safe to repeat (reads, and changes, which carry a request id), clear errors, and a
circuit breaker so that a slow or down shop API never holds a conversation up."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, List, Optional, TypeVar
from urllib.parse import quote

import aiohttp

from orders.circuit_breaker import CircuitBreaker
from orders.errors import ActionRefused, OrderNotFound, ShopUnavailable
from orders.model import AfterSale, Invoice, Order, Receiver

logger = logging.getLogger(__name__)

UNAVAILABLE_TEXT = "订单系统暂时无法访问，请稍后再试，或转人工客服帮您查询。"
RETRY_PAUSE_SECONDS = 0.2
T = TypeVar("T")


class ShopApiOrderSystem:
    """The shop's order system at `base_url`, authenticated with a bearer token."""

    def __init__(self, base_url: str, token: str = "", timeout_seconds: float = 1.5, retries: int = 1,
                 breaker: Optional[CircuitBreaker] = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"orders.api_url must be an http(s) URL, not {base_url!r} (settings.yml, section "
                             "orders, or SHOP_ORDERS_API_URL)")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.retries = max(0, retries)
        self.breaker = breaker or CircuitBreaker()
        self._session: Optional[aiohttp.ClientSession] = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            self._session = aiohttp.ClientSession(headers=headers, timeout=self.timeout)
        return self._session

    async def _call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """One call with its retries; the shop's refusals become OrderNotFound and ActionRefused, everything
        else that went wrong ShopUnavailable."""
        if not self.breaker.allow():
            raise ShopUnavailable(UNAVAILABLE_TEXT)
        problem = ""
        for attempt in range(1 + self.retries):
            if attempt:
                await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)
            try:
                async with self._client().request(method, self.base_url + path, json=body) as response:
                    if response.status >= 500 or response.status == 429:
                        problem = f"HTTP {response.status}"
                        continue
                    data = await response.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                problem = type(error).__name__
                continue
            self.breaker.succeeded()
            if response.status == 200 and isinstance(data, dict):
                return data
            message = str((data or {}).get("message") or "") if isinstance(data, dict) else ""
            if response.status == 404:
                raise OrderNotFound(message or "没有找到这个订单号，请核对后再发一次。")
            if response.status == 409:
                raise ActionRefused(str(data.get("code") or "refused"), message or "这个操作现在不能办理。")
            if response.status in (401, 403):
                logger.error("the shop's order API refused the token (HTTP %s): check orders.api_token "
                             "(SHOP_ORDERS_API_TOKEN)", response.status)
            else:
                logger.error("the shop's order API answered %s %s with HTTP %s", method, path, response.status)
            raise ShopUnavailable(UNAVAILABLE_TEXT)
        self.breaker.failed()
        logger.warning("the shop's order API failed %s %s after %d attempts (%s); circuit %s",
                       method, path, 1 + self.retries, problem, self.breaker.state)
        raise ShopUnavailable(UNAVAILABLE_TEXT)

    @staticmethod
    def _parsed(read: Callable[[Dict[str, Any]], T], data: Dict[str, Any]) -> T:
        try:
            return read(data)
        except (KeyError, TypeError, ValueError) as error:
            logger.error("the shop's order API sent an object the contract does not allow: %r", error)
            raise ShopUnavailable(UNAVAILABLE_TEXT) from None

    def _order(self, data: Dict[str, Any]) -> Order:
        return self._parsed(Order.from_json, data)

    async def orders_of(self, customer_id: str, limit: int = 10) -> List[Order]:
        data = await self._call("GET", f"/customers/{quote(customer_id, safe='')}/orders?limit={int(limit)}")
        return [self._order(item) for item in data.get("orders") or []]

    async def order(self, order_number: str) -> Optional[Order]:
        try:
            return self._order(await self._call("GET", f"/orders/{quote(order_number, safe='')}"))
        except OrderNotFound:
            return None

    async def phone_matches(self, order_number: str, last4: str) -> bool:
        try:
            data = await self._call("POST", f"/orders/{quote(order_number, safe='')}/phone-check",
                                    {"last4": last4})
        except OrderNotFound:
            return False
        return data.get("match") is True

    async def _change(self, order_number: str, action: str, body: Dict[str, Any]) -> Dict[str, Any]:
        return await self._call("POST", f"/orders/{quote(order_number, safe='')}/{action}", body)

    async def urge_shipment(self, order_number: str, request_id: str) -> Order:
        return self._order(await self._change(order_number, "urge", {"request_id": request_id}))

    async def change_receiver(self, order_number: str, receiver: Receiver, request_id: str) -> Order:
        body = {"request_id": request_id, "receiver": {"name": receiver.name, "phone": receiver.phone,
                                                      "address": receiver.address}}
        return self._order(await self._change(order_number, "receiver", body))

    async def cancel(self, order_number: str, reason: str, request_id: str) -> Order:
        return self._order(await self._change(order_number, "cancel", {"request_id": request_id, "reason": reason}))

    async def start_after_sale(self, order_number: str, kind: str, reason: str, request_id: str) -> AfterSale:
        data = await self._change(order_number, "after-sales", {"request_id": request_id, "kind": kind,
                                                                "reason": reason})
        return self._parsed(AfterSale.from_json, data)

    async def request_invoice(self, order_number: str, title: str, email: str, tax_id: str,
                              request_id: str) -> Invoice:
        data = await self._change(order_number, "invoice", {"request_id": request_id, "title": title,
                                                            "email": email, "tax_id": tax_id})
        return self._parsed(Invoice.from_json, data)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
