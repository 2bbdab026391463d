"""An order as the bot and the agent see it, and its JSON form (the REST contract, docs/shop-order-api.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

# an order's life: unpaid, paid and waiting to be sent, on its way, delivered, closed
PENDING_PAYMENT = "pending_payment"
AWAITING_SHIPMENT = "awaiting_shipment"
SHIPPED = "shipped"
DELIVERED = "delivered"
COMPLETED = "completed"
CANCELLED = "cancelled"
STATUSES = (PENDING_PAYMENT, AWAITING_SHIPMENT, SHIPPED, DELIVERED, COMPLETED, CANCELLED)
STATUS_TEXT = {
    PENDING_PAYMENT: "待付款", AWAITING_SHIPMENT: "待发货", SHIPPED: "已发货", DELIVERED: "已签收",
    COMPLETED: "已完成", CANCELLED: "已取消",
}
# what a customer may ask for after the sale
RETURN, EXCHANGE, REFUND = "return", "exchange", "refund"
AFTER_SALE_KINDS = (RETURN, EXCHANGE, REFUND)
AFTER_SALE_TEXT = {RETURN: "退货退款", EXCHANGE: "换货", REFUND: "仅退款"}


def _time(value: Optional[str]) -> Optional[datetime]:
    return datetime.fromisoformat(value) if value else None


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Item:
    """One line of an order."""

    sku: str
    name: str
    variant: str
    quantity: int
    unit_price: str  # yuan as a decimal string ("699.00"): no float rounding in money
    product_id: str = ""


@dataclass(frozen=True)
class Receiver:
    """Who and where the parcel goes to; the phone is masked outside the order system."""

    name: str
    phone: str
    address: str


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    description: str
    location: str = ""


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    expected_delivery: Optional[datetime] = None
    events: List[TrackingEvent] = field(default_factory=list)

    @property
    def latest(self) -> Optional[TrackingEvent]:
        """The newest tracking event."""
        return max(self.events, key=lambda e: e.at) if self.events else None


@dataclass(frozen=True)
class AfterSale:
    id: str
    kind: str
    status: str  # requested, approved, rejected, completed
    reason: str
    created_at: datetime

    def to_json(self) -> Dict[str, Any]:
        return _isoformat(asdict(self))

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> AfterSale:
        return cls(str(data["id"]), str(data["kind"]), str(data["status"]), str(data.get("reason", "")),
                   _time(data["created_at"]))


@dataclass(frozen=True)
class Invoice:
    status: str  # requested, issued
    title: str
    email: str = ""
    tax_id: str = ""

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> Invoice:
        return cls(str(data["status"]), str(data["title"]), str(data.get("email", "")), str(data.get("tax_id", "")))


@dataclass(frozen=True)
class Order:
    """One order with everything the customer may ask about."""

    order_number: str
    customer_id: str
    status: str
    created_at: datetime
    items: List[Item]
    total: str
    receiver: Receiver
    payment_method: str = ""
    paid_at: Optional[datetime] = None
    promised_dispatch_by: Optional[datetime] = None
    shipment: Optional[Shipment] = None
    delivered_at: Optional[datetime] = None
    shipment_urged_at: Optional[datetime] = None
    after_sales: List[AfterSale] = field(default_factory=list)
    invoice: Optional[Invoice] = None

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, self.status)

    @property
    def summary(self) -> str:
        """One line naming the order for a button or a list: first item and how many more."""
        first = self.items[0].name if self.items else "订单"
        more = f" 等{len(self.items)}件" if len(self.items) > 1 else ""
        return f"{first}{more}（{self.status_text}）"

    def to_json(self) -> Dict[str, Any]:
        """The contract's JSON object."""
        return _isoformat(asdict(self))

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> Order:
        """Reads the contract's JSON object; raises KeyError or ValueError on a malformed one."""
        shipment = data.get("shipment")
        invoice = data.get("invoice")
        return cls(
            order_number=str(data["order_number"]), customer_id=str(data["customer_id"]), status=str(data["status"]),
            created_at=_time(data["created_at"]), total=str(data["total"]),
            items=[Item(**{**item, "quantity": int(item["quantity"])}) for item in data["items"]],
            receiver=Receiver(**data["receiver"]), payment_method=str(data.get("payment_method") or ""),
            paid_at=_time(data.get("paid_at")), promised_dispatch_by=_time(data.get("promised_dispatch_by")),
            shipment=None if not shipment else Shipment(
                carrier=shipment["carrier"], tracking_number=shipment["tracking_number"],
                shipped_at=_time(shipment["shipped_at"]), expected_delivery=_time(shipment.get("expected_delivery")),
                events=[TrackingEvent(_time(e["at"]), e["description"], e.get("location", ""))
                        for e in shipment.get("events") or []]),
            delivered_at=_time(data.get("delivered_at")), shipment_urged_at=_time(data.get("shipment_urged_at")),
            after_sales=[AfterSale.from_json(a) for a in data.get("after_sales") or []],
            invoice=Invoice.from_json(invoice) if invoice else None,
        )


def _isoformat(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _isoformat(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_isoformat(item) for item in value]
    if isinstance(value, datetime):
        return _iso(value)
    return value


def masked_phone(phone: str) -> str:
    """138****8000: what an agent or a verified customer sees of a receiver's phone."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"
