"""What the customer reads about their order: status, tracking, dispatch promise, and each change's
confirmation and result. Times are the shop's (Shanghai)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

from orders.model import (
    AFTER_SALE_TEXT,
    AWAITING_SHIPMENT,
    CANCELLED,
    COMPLETED,
    DELIVERED,
    PENDING_PAYMENT,
    SHIPPED,
    AfterSale,
    Invoice,
    Order,
    masked_phone,
)
from orders.policy import SHANGHAI, promised_dispatch


def when(moment: Optional[datetime]) -> str:
    """12月6日 17:20"""
    if moment is None:
        return "（时间未知）"
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def day(moment: Optional[datetime]) -> str:
    """12月6日"""
    if moment is None:
        return "（日期未知）"
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日"


def order_title(order: Order) -> str:
    """订单 2026… （云朵 无线降噪耳机 Pro）"""
    first = order.items[0].name if order.items else ""
    more = f" 等{len(order.items)}件" if len(order.items) > 1 else ""
    return f"订单 {order.order_number}（{first}{more}）"


def masked_address(address: str) -> str:
    """The start of an address (province, city, district) and stars: enough to recognise, not to find."""
    return address[:9] + "****" if len(address) > 9 else "****"


def dispatch_promise(order: Order) -> Optional[datetime]:
    """This order's promised dispatch: the shop's own when it sent one, else the rule applied to the payment."""
    if order.promised_dispatch_by:
        return order.promised_dispatch_by
    return promised_dispatch(order.paid_at) if order.paid_at else None


def dispatch_text(order: Order, now: datetime) -> str:
    """Why it has not shipped yet: the rule and this order's promise (and an apology when it is late)."""
    if order.status == PENDING_PAYMENT:
        return (f"{order_title(order)}还没有付款：付款后才会安排发货（16:00 前付款当天发货）。"
                "下单 30 分钟内未付款会自动取消。")
    if order.status != AWAITING_SHIPMENT:
        return tracking_text(order, now)
    promise = dispatch_promise(order)
    text = (f"{order_title(order)}已于 {when(order.paid_at)} 付款，正在仓库等待发货。\n"
            "发货规则：16:00 前付款当天发货，16:00 后付款次日发货。")
    if promise is None:
        return text
    if promise < now:
        return text + f"\n这笔订单承诺 {when(promise)} 前发出，已经晚了，非常抱歉！可以点“帮我催发货”，仓库会优先处理。"
    return text + f"\n这笔订单承诺 {when(promise)} 前发出，请再耐心等一下，发货后会短信通知您运单号。"


def tracking_text(order: Order, now: datetime) -> str:
    """Where it is: status, courier, tracking number, the latest event and the expected delivery."""
    if order.status in (PENDING_PAYMENT, AWAITING_SHIPMENT):
        return dispatch_text(order, now)
    if order.status == CANCELLED:
        return f"{order_title(order)}已取消，不会发货了。如已付款，退款会原路退回。"
    shipment = order.shipment
    if shipment is None:
        return f"{order_title(order)}当前状态：{order.status_text}。暂时没有物流信息。"
    lines = [f"{order_title(order)}{order.status_text}：{shipment.carrier}，运单号 {shipment.tracking_number}。"]
    latest = shipment.latest
    if latest:
        place = f"【{latest.location}】" if latest.location else ""
        lines.append(f"最新物流（{when(latest.at)}）：{place}{latest.description}")
    if order.status == SHIPPED and shipment.expected_delivery:
        if shipment.expected_delivery >= now:
            lines.append(f"预计 {day(shipment.expected_delivery)} 送达。")
        else:
            lines.append(f"原预计 {day(shipment.expected_delivery)} 送达，已经晚了，非常抱歉；"
                         "需要的话可以转人工帮您联系快递。")
    if order.status in (DELIVERED, COMPLETED) and order.delivered_at:
        lines.append(f"已于 {when(order.delivered_at)} 签收。")
    return "\n".join(lines)


def receiver_change(order: Order, new: Dict[str, str]) -> str:
    """The receiver as it would be after the change, for the confirmation."""
    name = new.get("name") or order.receiver.name
    phone = new.get("phone") or order.receiver.phone
    address = new.get("address") or order.receiver.address
    parts = [f"收货人：{name}", f"电话：{masked_phone(phone) if not new.get('phone') else phone}",
             f"地址：{address if new.get('address') else masked_address(address)}"]
    return "\n".join(parts)


def parse_receiver(value: Optional[str]) -> Dict[str, str]:
    """The new receiver slot's JSON (name, phone, address; only what the customer gave)."""
    try:
        data = json.loads(value or "{}")
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items() if k in ("name", "phone", "address") and v}


def confirmation_text(task: str, order: Order, details: Dict[str, Any]) -> str:
    """What the bot is about to do, for the customer's yes or no."""
    title = order_title(order)
    if task == "urge":
        return f"帮您催一下{title}的发货，仓库会优先安排。确认吗？"
    if task == "cancel":
        paid = "，付款会原路退回" if order.paid_at else ""
        return f"确认取消{title}吗？取消后不能恢复{paid}。"
    if task == "change_receiver":
        return f"{title}的收货信息将改为：\n{receiver_change(order, details.get('receiver') or {})}\n确认修改吗？"
    if task == "after_sale":
        kind = AFTER_SALE_TEXT.get(details.get("kind", ""), "售后")
        return f"为{title}申请{kind}。确认提交吗？"
    if task == "invoice":
        tax = f"，税号 {details['tax_id']}" if details.get("tax_id") else ""
        return f"为{title}申请电子发票：抬头“{details.get('title')}”{tax}，发送到 {details.get('email')}。确认吗？"
    return f"确认办理{title}吗？"


def done_text(task: str, order: Order, result: Any = None) -> str:
    """What was done, and what happens next."""
    title = order_title(order)
    if task == "urge":
        promise = dispatch_promise(order)
        by = f"，最晚 {when(promise)} 前发出" if promise else ""
        return f"已帮您催促仓库优先发货{by}。发货后会短信通知您运单号，也可以随时问我“到哪了”。"
    if task == "cancel":
        refund = "付款将在 1-3 个工作日内原路退回。" if order.paid_at else ""
        return f"{title}已取消。{refund}"
    if task == "change_receiver":
        receiver = order.receiver
        return (f"已修改{title}的收货信息：\n收货人：{receiver.name}\n电话：{masked_phone(receiver.phone)}\n"
                f"地址：{receiver.address}")
    if task == "after_sale" and isinstance(result, AfterSale):
        kind = AFTER_SALE_TEXT.get(result.kind, "售后")
        steps = ("审核通过后会短信通知您寄回方式（可预约上门取件）。" if result.kind != "refund"
                 else "审核通过后退款原路退回。")
        return f"已为{title}提交{kind}申请，售后单号 {result.id}。一般 24 小时内审核，{steps}"
    if task == "invoice" and isinstance(result, Invoice):
        return f"已为{title}申请电子发票（抬头“{result.title}”），开具后发送到 {result.email}，一般 48 小时内。"
    return f"{title}已办理。"


def eligibility_text(order: Order, reason: str) -> str:
    """Why the shop's rules do not allow it, and what the customer can do instead."""
    return f"{order_title(order)}：{reason}"


def order_button(order: Order, task: str) -> Dict[str, str]:
    """A button that picks this order for the task."""
    payload = json.dumps({"order_number": order.order_number, "order_task": task}, ensure_ascii=False)
    return {"title": f"{order.order_number} {order.summary}", "payload": f"/order_problem{payload}"}


def task_button(title: str, task: str, order_number: Optional[str] = None) -> Dict[str, str]:
    """A button that starts a task (on this order when given)."""
    values: Dict[str, str] = {"order_task": task}
    if order_number:
        values["order_number"] = order_number
    return {"title": title, "payload": "/order_problem" + json.dumps(values, ensure_ascii=False)}


def next_steps(order: Order) -> List[Dict[str, str]]:
    """Buttons for what the customer may want next with this order."""
    if order.status == AWAITING_SHIPMENT:
        return [task_button("帮我催发货", "urge", order.order_number),
                task_button("修改收货信息", "change_receiver", order.order_number)]
    if order.status in (DELIVERED, COMPLETED):
        return [task_button("申请退换货", "after_sale", order.order_number)]
    return []
