"""The embedded demo order system: the demo customers' orders in SQL tables of the product's database, with
the shop's rules (policy.py) enforced on every change. `make run` uses it; a shop connects its own system
through shop_api.py instead."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from core.db import write_transaction
from orders import policy
from orders.demo_schema import demo_order_requests, demo_orders
from orders.demo_seed import demo_orders as seed_orders
from orders.errors import ActionRefused, OrderNotFound
from orders.model import CANCELLED, AfterSale, Invoice, Order, Receiver
from orders.policy import Decision

# the demo's orders are seeded again once they are this old, so that "shipped 2 days ago" stays true
RESEED_AFTER = timedelta(hours=24)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DemoOrderSystem:
    """`OrderSystem` on SQL tables; its blocking work runs in a thread."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self.clock = clock
        self._seed_lock = threading.Lock()
        self._seeded = False

    # -- seeding ------------------------------------------------------------------------------------------
    def seed(self, force: bool = False) -> int:
        """Writes the demo orders unless fresh ones are there; returns how many were written."""
        now = self.clock()
        # read, then write: the write lock from the start (on SQLite a read lock cannot be upgraded while another
        # process writes, and would fail at once with "database is locked")
        with write_transaction(self.engine) as connection:
            oldest = connection.execute(select(func.min(demo_orders.c.seeded_at))).scalar()
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            if not force and oldest is not None and now - oldest < RESEED_AFTER:
                return 0
            connection.execute(delete(demo_order_requests))
            connection.execute(delete(demo_orders))
            orders = seed_orders(now)
            connection.execute(insert(demo_orders), [
                {"order_number": o.order_number, "customer_id": o.customer_id, "document": o.to_json(),
                 "seeded_at": now, "updated_at": now} for o in orders])
        return len(orders)

    def _ensure_seeded(self) -> None:
        if not self._seeded:
            with self._seed_lock:
                if not self._seeded:
                    self.seed()
                    self._seeded = True

    # -- reads --------------------------------------------------------------------------------------------
    def orders_of_now(self, customer_id: str, limit: int = 10) -> List[Order]:
        self._ensure_seeded()
        with self.engine.connect() as connection:
            rows = connection.execute(select(demo_orders.c.document)
                                      .where(demo_orders.c.customer_id == customer_id)).all()
        orders = [Order.from_json(row.document) for row in rows]
        return sorted(orders, key=lambda o: o.created_at, reverse=True)[:limit]

    def order_now(self, order_number: str) -> Optional[Order]:
        self._ensure_seeded()
        with self.engine.connect() as connection:
            document = connection.execute(select(demo_orders.c.document)
                                          .where(demo_orders.c.order_number == order_number)).scalar()
        return None if document is None else Order.from_json(document)

    def phone_matches_now(self, order_number: str, last4: str) -> bool:
        found = self.order_now(order_number)
        digits = "".join(ch for ch in found.receiver.phone if ch.isdigit()) if found else ""
        return bool(found) and len(last4) == 4 and last4.isdigit() and digits.endswith(last4)

    # -- changes ------------------------------------------------------------------------------------------
    def _change(self, order_number: str, action: str, request_id: str, decide: Callable[[Order, datetime], Decision],
                apply: Callable[[Order, datetime], Tuple[Order, Any]]) -> Dict[str, Any]:
        """Under a row lock and once per request id: checks the shop's rule (`decide`), makes the change (`apply`
        returns the changed order and the result) and returns the result's JSON, the stored one on a repeat."""
        self._ensure_seeded()
        if not request_id or len(request_id) > 64:
            raise ActionRefused("bad_request", "请求缺少编号，请重试。")
        with write_transaction(self.engine) as connection:
            done = connection.execute(select(demo_order_requests)
                                      .where(demo_order_requests.c.request_id == request_id)).first()
            if done is not None:
                if (done.order_number, done.action) != (order_number, action):
                    raise ActionRefused("request_reused", "这个请求编号已用于另一项操作。")
                return dict(done.result)
            order = self._locked(connection, order_number)
            now = self.clock()
            decision = decide(order, now)
            if not decision.allowed:
                raise ActionRefused(decision.code, decision.text)
            changed, result = apply(order, now)
            connection.execute(update(demo_orders).where(demo_orders.c.order_number == order_number)
                               .values(document=changed.to_json(), updated_at=now))
            connection.execute(insert(demo_order_requests).values(
                request_id=request_id, order_number=order_number, action=action, result=result.to_json(),
                created_at=now))
            return result.to_json()

    def _order_change(self, order_number: str, action: str, request_id: str,
                      decide: Callable[[Order, datetime], Decision],
                      apply: Callable[[Order, datetime], Order]) -> Order:
        """A change whose result is the changed order."""
        def both(order: Order, now: datetime) -> Tuple[Order, Order]:
            changed = apply(order, now)
            return changed, changed
        return Order.from_json(self._change(order_number, action, request_id, decide, both))

    @staticmethod
    def _locked(connection: Connection, order_number: str) -> Order:
        document = connection.execute(select(demo_orders.c.document)
                                      .where(demo_orders.c.order_number == order_number)
                                      .with_for_update()).scalar()
        if document is None:
            raise OrderNotFound("没有找到这个订单号，请核对后再发一次。")
        return Order.from_json(document)

    def urge_shipment_now(self, order_number: str, request_id: str) -> Order:
        return self._order_change(order_number, "urge", request_id, lambda order, now: policy.can_urge(order),
                                  lambda order, now: replace(order, shipment_urged_at=now))

    def change_receiver_now(self, order_number: str, receiver: Receiver, request_id: str) -> Order:
        return self._order_change(order_number, "change_receiver", request_id,
                                  lambda order, now: policy.can_change_receiver(order),
                                  lambda order, now: replace(order, receiver=receiver))

    def cancel_now(self, order_number: str, reason: str, request_id: str) -> Order:
        return self._order_change(order_number, "cancel", request_id, lambda order, now: policy.can_cancel(order),
                                  lambda order, now: replace(order, status=CANCELLED, promised_dispatch_by=None))

    def start_after_sale_now(self, order_number: str, kind: str, reason: str, request_id: str) -> AfterSale:
        def apply(order: Order, now: datetime) -> Tuple[Order, AfterSale]:
            number = f"AS{now.strftime('%Y%m%d')}{len(order.after_sales) + 1:03d}{order.order_number[-4:]}"
            opened = AfterSale(number, kind, "requested", reason[:200], now)
            return replace(order, after_sales=[*order.after_sales, opened]), opened
        return AfterSale.from_json(self._change(
            order_number, f"after_sale:{kind}", request_id,
            lambda order, now: policy.can_start_after_sale(order, kind, now), apply))

    def request_invoice_now(self, order_number: str, title: str, email: str, tax_id: str,
                            request_id: str) -> Invoice:
        def apply(order: Order, now: datetime) -> Tuple[Order, Invoice]:
            invoice = Invoice("requested", title[:100], email[:200], tax_id[:40])
            return replace(order, invoice=invoice), invoice
        return Invoice.from_json(self._change(order_number, "invoice", request_id,
                                              lambda order, now: policy.can_request_invoice(order, now), apply))

    # -- the OrderSystem interface ------------------------------------------------------------------------
    async def orders_of(self, customer_id: str, limit: int = 10) -> List[Order]:
        return await asyncio.to_thread(self.orders_of_now, customer_id, limit)

    async def order(self, order_number: str) -> Optional[Order]:
        return await asyncio.to_thread(self.order_now, order_number)

    async def phone_matches(self, order_number: str, last4: str) -> bool:
        return await asyncio.to_thread(self.phone_matches_now, order_number, last4)

    async def urge_shipment(self, order_number: str, request_id: str) -> Order:
        return await asyncio.to_thread(self.urge_shipment_now, order_number, request_id)

    async def change_receiver(self, order_number: str, receiver: Receiver, request_id: str) -> Order:
        return await asyncio.to_thread(self.change_receiver_now, order_number, receiver, request_id)

    async def cancel(self, order_number: str, reason: str, request_id: str) -> Order:
        return await asyncio.to_thread(self.cancel_now, order_number, reason, request_id)

    async def start_after_sale(self, order_number: str, kind: str, reason: str, request_id: str) -> AfterSale:
        return await asyncio.to_thread(self.start_after_sale_now, order_number, kind, reason, request_id)

    async def request_invoice(self, order_number: str, title: str, email: str, tax_id: str,
                              request_id: str) -> Invoice:
        return await asyncio.to_thread(self.request_invoice_now, order_number, title, email, tax_id, request_id)

    async def close(self) -> None:
        return None

