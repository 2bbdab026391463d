"""What the shop allows on an order, and when (docs/shop-facts.md): one place for the demo order system to
enforce and the bot to explain. Each check returns a `Decision` with the reason in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from orders.model import (
    AWAITING_SHIPMENT,
    COMPLETED,
    DELIVERED,
    EXCHANGE,
    PENDING_PAYMENT,
    REFUND,
    RETURN,
    SHIPPED,
    Order,
)

SHANGHAI = timezone(timedelta(hours=8))
RETURN_DAYS = 7        # 七天无理由: from the day after sign-for
EXCHANGE_DAYS = 15     # quality problems
INVOICE_DAYS = 180     # a missed invoice can be asked for this long after sign-for
DISPATCH_CUTOFF_HOUR = 16  # paid before 16:00 ships the same day


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str
    text: str


def _ok(text: str = "") -> Decision:
    return Decision(True, "ok", text)


def _no(code: str, text: str) -> Decision:
    return Decision(False, code, text)


def promised_dispatch(paid_at: datetime) -> datetime:
    """The dispatch promise for a payment: the same day before 16:00 (Shanghai time), else the next day, by
    the end of the day."""
    local = paid_at.astimezone(SHANGHAI)
    day = local.date() if local.hour < DISPATCH_CUTOFF_HOUR else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 23, 59, tzinfo=SHANGHAI)


def _days_since_delivery(order: Order, now: datetime) -> Optional[int]:
    if order.delivered_at is None:
        return None
    # counted from the day after sign-for, in the shop's time zone
    return (now.astimezone(SHANGHAI).date() - order.delivered_at.astimezone(SHANGHAI).date()).days


def can_change_receiver(order: Order) -> Decision:
    if order.status in (PENDING_PAYMENT, AWAITING_SHIPMENT):
        return _ok()
    if order.status == SHIPPED:
        return _no("already_shipped",
                   "订单已经发货，系统里改不了地址了；可以转人工客服帮您联系快递改派（不保证成功）。")
    return _no("not_changeable", f"订单{order.status_text}，不能再修改收货信息了。")


def can_cancel(order: Order) -> Decision:
    if order.status in (PENDING_PAYMENT, AWAITING_SHIPMENT):
        return _ok()
    if order.status == SHIPPED:
        return _no("already_shipped", "订单已经发货，不能直接取消了：可以拒收，或签收后申请七天无理由退货。")
    return _no("not_cancellable", f"订单{order.status_text}，不能取消了。")


def can_urge(order: Order) -> Decision:
    if order.status == AWAITING_SHIPMENT:
        return _ok()
    if order.status == PENDING_PAYMENT:
        return _no("not_paid", "订单还没有付款，付款后才会安排发货。")
    if order.status == SHIPPED:
        return _no("already_shipped", "订单已经发货了，正在运输途中。")
    return _no("not_urgeable", f"订单{order.status_text}，不需要催发货。")


def can_start_after_sale(order: Order, kind: str, now: datetime) -> Decision:
    """Return (七天无理由 or quality) within 7 days of sign-for, exchange within 15, refund only of a delivered
    order within 7 (a missing item); before shipment the answer is to cancel."""
    if kind not in (RETURN, EXCHANGE, REFUND):
        return _no("unknown_kind", "请选择退货、换货或仅退款。")
    if any(a.kind == kind and a.status in ("requested", "approved") for a in order.after_sales):
        return _no("already_requested", "这笔订单已经有一个在处理中的同类售后申请了。")
    if order.status in (PENDING_PAYMENT, AWAITING_SHIPMENT):
        return _no("not_shipped", "订单还没有发货，直接取消订单即可全额退款。")
    if order.status == SHIPPED:
        return _no("not_delivered", "包裹还在路上：可以拒收，签收后再申请售后。")
    days = _days_since_delivery(order, now)
    if order.status not in (DELIVERED, COMPLETED) or days is None:
        return _no("not_eligible", f"订单{order.status_text}，不能申请售后。")
    limit = EXCHANGE_DAYS if kind == EXCHANGE else RETURN_DAYS
    if days > limit:
        return _no("window_passed", f"已签收 {days} 天，超过了 {limit} 天的申请期限；质量问题可以申请保修。")
    return _ok(f"已签收 {days} 天，在 {limit} 天的申请期限内。")


def can_request_invoice(order: Order, now: datetime) -> Decision:
    if order.status in (PENDING_PAYMENT,):
        return _no("not_paid", "订单付款后才能开发票。")
    if order.status == "cancelled":
        return _no("cancelled", "订单已取消，不能开发票。")
    if order.invoice is not None:
        return _no("already_requested", "这笔订单的发票已经申请过了，可在 订单详情 → 查看发票 下载。")
    days = _days_since_delivery(order, now)
    if days is not None and days > INVOICE_DAYS:
        return _no("window_passed", f"已签收超过 {INVOICE_DAYS} 天，不能再补开发票了。")
    return _ok()
