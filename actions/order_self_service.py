"""The order form is done: do the task on the order (or explain why not), or hand the order to a person.

Reading tasks answer from the order; changes are made only after the customer's yes, each with a request id
made from the conversation, the task, the order, the details and the confirming message, so that a retried
action changes the order once. Ownership is checked again here, before anything is read or changed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import HANDOFF_BUTTON, report
from actions.escalate import hand_over
from actions.order_access import order_system, verified_customer
from actions.order_form import (
    CONFIRM_SLOT,
    EMAIL_SLOT,
    KIND_SLOT,
    ORDER_SLOT,
    OUTCOME_SLOT,
    PROVEN_SLOT,
    RECEIVER_SLOT,
    TASK_SLOT,
    TASK_SLOTS,
    TAX_SLOT,
    TITLE_SLOT,
    WAITING_SLOT,
    is_owner,
    page_order_number,
    refusal,
    typed_order_number,
)
from actions.order_replies import (
    dispatch_text,
    done_text,
    eligibility_text,
    next_steps,
    parse_receiver,
    tracking_text,
)
from actions.order_tasks import PROBLEM
from handoff.escalation import rules
from orders.errors import ActionRefused, OrderError
from orders.model import Order, Receiver

UNAVAILABLE_TEXT = "抱歉，订单系统暂时查不到信息，我没法帮您查看这个订单。可以稍后再问我，或者转人工客服处理。"
NOT_PROVEN_TEXT = ("订单号和手机号后四位和记录对不上，为了保护订单信息，我这边不能再查了。"
                   "您可以登录后再问我，或者转人工客服核实身份后处理。")
DECLINED_TEXT = "好的，订单没有做任何修改。还有其他问题吗？"


def request_id(tracker: Tracker, task: str, number: str, details: Dict[str, Any]) -> str:
    """The same confirmation of the same change gives the same id (a retry changes the order once)."""
    message = str(tracker.latest_message.get("message_id") or "")
    raw = json.dumps([tracker.sender_id, task, number, details, message], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def task_details(tracker: Tracker) -> Dict[str, Any]:
    return {
        "receiver": parse_receiver(tracker.get_slot(RECEIVER_SLOT)), "kind": tracker.get_slot(KIND_SLOT),
        "title": tracker.get_slot(TITLE_SLOT), "tax_id": tracker.get_slot(TAX_SLOT) or "",
        "email": tracker.get_slot(EMAIL_SLOT),
    }


async def make_change(task: str, order: Order, details: Dict[str, Any], rid: str) -> Any:
    """Asks the order system for the change; returns its result."""
    system = order_system()
    if task == "urge":
        return await system.urge_shipment(order.order_number, rid)
    if task == "cancel":
        return await system.cancel(order.order_number, "客户在线申请取消", rid)
    if task == "change_receiver":
        new, old = details["receiver"], order.receiver
        receiver = Receiver(new.get("name") or old.name, new.get("phone") or old.phone,
                            new.get("address") or old.address)
        return await system.change_receiver(order.order_number, receiver, rid)
    if task == "after_sale":
        return await system.start_after_sale(order.order_number, details["kind"], "客户在线申请", rid)
    if task == "invoice":
        return await system.request_invoice(order.order_number, details["title"], details["email"], details["tax_id"],
                                            rid)
    raise ValueError(f"unknown order task {task!r}: see data/orders/self_service.yml")


class ActionOrderProblem(Action):
    """Runs when the order form is done (the rule in data/rules/orders_and_products.yml)."""

    def name(self) -> str:
        return "action_order_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        task = str(tracker.get_slot(TASK_SLOT) or PROBLEM)
        number = typed_order_number(tracker) or tracker.get_slot(ORDER_SLOT) or page_order_number(tracker)
        finished = [SlotSet(name, None) for name in (*TASK_SLOTS, TASK_SLOT)] + [SlotSet(WAITING_SLOT, 0.0),
                                                                                  SlotSet(ORDER_SLOT, number)]
        if task == PROBLEM:
            decision = rules().escalate("order_issue", f"订单问题，订单号 {number or '未提供'}")
            return [*hand_over(dispatcher, tracker, decision), *finished]
        outcome = await self._do(dispatcher, tracker, task, str(number or ""))
        event = "fallback" if outcome in ("unavailable", "not_proven") else "bot_answer"
        report(dispatcher, tracker, event, route="order", self_service=task, outcome=outcome)
        return finished

    async def _do(self, dispatcher: CollectingDispatcher, tracker: Tracker, task: str, number: str) -> str:
        """Answers or changes; returns the outcome for the analytics."""
        if tracker.get_slot(OUTCOME_SLOT) == "unavailable":
            dispatcher.utter_message(text=UNAVAILABLE_TEXT, buttons=[HANDOFF_BUTTON])
            return "unavailable"
        try:
            order = await order_system().order(number) if number else None
        except OrderError:
            dispatcher.utter_message(text=UNAVAILABLE_TEXT, buttons=[HANDOFF_BUTTON])
            return "unavailable"
        if not is_owner(order, verified_customer(tracker), tracker.get_slot(PROVEN_SLOT)):
            dispatcher.utter_message(text=NOT_PROVEN_TEXT, buttons=[HANDOFF_BUTTON])
            return "not_proven"
        now = datetime.now(timezone.utc)
        if task == "track":
            dispatcher.utter_message(text=tracking_text(order, now), buttons=next_steps(order))
            return "done"
        if task == "not_shipped":
            dispatcher.utter_message(text=dispatch_text(order, now), buttons=next_steps(order))
            return "done"
        details = task_details(tracker)
        refused = refusal(task, order, details["kind"])
        if refused:
            dispatcher.utter_message(text=eligibility_text(order, refused.text), buttons=[HANDOFF_BUTTON])
            return "refused"
        if tracker.get_slot(CONFIRM_SLOT) is not True:
            dispatcher.utter_message(text=DECLINED_TEXT)
            return "declined"
        try:
            result = await make_change(task, order, details, request_id(tracker, task, number, details))
        except ActionRefused as error:
            dispatcher.utter_message(text=eligibility_text(order, error.text), buttons=[HANDOFF_BUTTON])
            return "refused"
        except OrderError:
            dispatcher.utter_message(text=UNAVAILABLE_TEXT, buttons=[HANDOFF_BUTTON])
            return "unavailable"
        changed: Optional[Order] = result if isinstance(result, Order) else order
        dispatcher.utter_message(text=done_text(task, changed, result))
        return "done"
