"""The order system's contract, on the embedded demo and over HTTP alike: the demo customers' orders in every
state, the shop's rules on each change, and each change made once however often it is asked for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from orders.errors import ActionRefused, OrderNotFound
from orders.model import AWAITING_SHIPMENT, CANCELLED, EXCHANGE, RETURN, STATUSES, Receiver

WANG, LI, CHEN = "C10086", "C20017", "C30452"


def by_status(orders):
    return {o.status: o for o in orders}


async def test_every_demo_customer_has_orders_newest_first_and_wang_has_every_state(system):
    wang = await system.orders_of(WANG)
    assert {o.status for o in wang} == set(STATUSES)
    assert [o.created_at for o in wang] == sorted((o.created_at for o in wang), reverse=True)
    assert all(o.customer_id == WANG for o in wang)
    assert await system.orders_of(LI) and await system.orders_of(CHEN)
    assert await system.orders_of("C00000") == []


async def test_a_shipped_order_carries_courier_tracking_and_expected_delivery(system):
    shipped = by_status(await system.orders_of(WANG))["shipped"]
    assert shipped.shipment.carrier == "顺丰速运" and shipped.shipment.tracking_number.startswith("SF")
    latest = shipped.shipment.latest
    assert "张江营业点" in latest.description and latest.at < datetime.now(timezone.utc)
    assert shipped.shipment.expected_delivery > datetime.now(timezone.utc)
    assert shipped.total == "699.00" and shipped.items[0].variant == "曜石黑"


async def test_an_unknown_order_is_none_and_its_phone_never_matches(system):
    assert await system.order("2099010100000000") is None
    assert await system.phone_matches("2099010100000000", "8000") is False


async def test_the_phone_check_takes_exactly_the_last_four_digits(system):
    number = by_status(await system.orders_of(WANG))["shipped"].order_number
    assert await system.phone_matches(number, "8000") is True
    for wrong in ("0008", "800", "48000", "abcd", ""):
        assert await system.phone_matches(number, wrong) is False


async def test_an_address_changes_before_shipment_once_per_request_and_never_after(system):
    waiting = by_status(await system.orders_of(WANG))[AWAITING_SHIPMENT]
    new = Receiver("王女士", "13812348000", "上海市徐汇区漕溪北路 18 号 501 室")
    changed = await system.change_receiver(waiting.order_number, new, "req-address-1")
    assert changed.receiver == new
    again = await system.change_receiver(waiting.order_number, Receiver("x", "1", "y"), "req-address-1")
    assert again.receiver == new, "the same request id changes nothing more"
    shipped = by_status(await system.orders_of(WANG))["shipped"]
    with pytest.raises(ActionRefused) as refused:
        await system.change_receiver(shipped.order_number, new, "req-address-2")
    assert refused.value.code == "already_shipped" and "已经发货" in refused.value.text
    assert (await system.order(shipped.order_number)).receiver != new


async def test_cancel_before_shipment_is_idempotent_and_after_shipment_refused(system):
    waiting = by_status(await system.orders_of(WANG))[AWAITING_SHIPMENT]
    first = await system.cancel(waiting.order_number, "不想要了", "req-cancel-1")
    second = await system.cancel(waiting.order_number, "不想要了", "req-cancel-1")
    assert first.status == second.status == CANCELLED
    with pytest.raises(ActionRefused) as refused:
        await system.cancel(waiting.order_number, "不想要了", "req-cancel-2")
    assert refused.value.code == "not_cancellable"
    with pytest.raises(OrderNotFound):
        await system.cancel("2099010100000000", "x", "req-cancel-3")


async def test_urging_records_the_request_only_for_a_paid_order_not_yet_shipped(system):
    orders = by_status(await system.orders_of(WANG))
    urged = await system.urge_shipment(orders[AWAITING_SHIPMENT].order_number, "req-urge-1")
    assert urged.shipment_urged_at is not None
    for status, code in (("pending_payment", "not_paid"), ("shipped", "already_shipped")):
        with pytest.raises(ActionRefused) as refused:
            await system.urge_shipment(orders[status].order_number, f"req-urge-{status}")
        assert refused.value.code == code


async def test_after_sales_follow_the_return_and_exchange_windows(system):
    orders = by_status(await system.orders_of(WANG))
    recent = orders["delivered"]  # signed for about three days ago
    opened = await system.start_after_sale(recent.order_number, RETURN, "不喜欢颜色", "req-return-1")
    assert opened.kind == RETURN and opened.status == "requested"
    assert (await system.start_after_sale(recent.order_number, RETURN, "x", "req-return-1")).id == opened.id
    with pytest.raises(ActionRefused) as twice:
        await system.start_after_sale(recent.order_number, RETURN, "x", "req-return-2")
    assert twice.value.code == "already_requested"
    old = orders["completed"]  # signed for about 25 days ago
    for kind in (RETURN, EXCHANGE):
        with pytest.raises(ActionRefused) as late:
            await system.start_after_sale(old.order_number, kind, "坏了", f"req-late-{kind}")
        assert late.value.code == "window_passed"
    with pytest.raises(ActionRefused) as early:
        await system.start_after_sale(orders[AWAITING_SHIPMENT].order_number, RETURN, "x", "req-early")
    assert early.value.code == "not_shipped"


async def test_an_exchange_is_possible_after_the_return_window_within_fifteen_days(system):
    chen = await system.orders_of(CHEN)
    delivered = next(o for o in chen if o.status == "delivered")  # about 18 days ago: too late for both
    with pytest.raises(ActionRefused):
        await system.start_after_sale(delivered.order_number, EXCHANGE, "有杂音", "req-x-1")
    li = await system.orders_of(LI)
    ten_days = next(o for o in li if o.status == "delivered")  # 10 days: no return, exchange in progress
    with pytest.raises(ActionRefused) as no_return:
        await system.start_after_sale(ten_days.order_number, RETURN, "x", "req-x-2")
    assert no_return.value.code == "window_passed"
    with pytest.raises(ActionRefused) as pending:
        await system.start_after_sale(ten_days.order_number, EXCHANGE, "x", "req-x-3")
    assert pending.value.code == "already_requested"


async def test_an_invoice_is_requested_once_and_not_for_an_unpaid_order(system):
    orders = by_status(await system.orders_of(WANG))
    invoice = await system.request_invoice(orders["delivered"].order_number, "个人", "wang@example.com", "", "req-inv")
    assert invoice.status == "requested" and invoice.email == "wang@example.com"
    for status, code in (("pending_payment", "not_paid"), ("completed", "already_requested")):
        with pytest.raises(ActionRefused) as refused:
            await system.request_invoice(orders[status].order_number, "个人", "", "", f"req-inv-{status}")
        assert refused.value.code == code


def test_the_demo_is_seeded_again_once_a_day_so_its_orders_keep_their_shape(demo):
    assert demo.orders_of_now(WANG), "seeded on first use"
    assert demo.seed() == 0, "fresh orders are kept"
    later = datetime.now(timezone.utc) + timedelta(hours=25)
    demo.clock = lambda: later
    assert demo.seed() == 10, "every demo order written again"
    shipped = by_status(demo.orders_of_now(WANG))["shipped"]
    assert shipped.shipment.expected_delivery > later
