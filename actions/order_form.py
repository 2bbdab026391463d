"""The order form (`order_problem_form`): which task, which order, is it the customer's, and the details a
change needs, asked one at a time.

The form's slots, in the order it asks for them:
  order_number      the customer's latest orders as buttons (verified), a typed or pasted number, the page's
  phone_last4       an anonymous customer's proof: the last 4 digits of the order's receiver phone
  after_sale_kind   return, exchange or refund (after_sale)
  new_receiver      the new name, phone or address (change_receiver), JSON
  invoice_title     个人 or a company's name; invoice_tax_id for a company; invoice_email (invoice)
  order_confirmed   the customer's yes or no to the change, shown in full (every task that changes the order)
A task the shop's rules do not allow stops the form as soon as the order is known: the completion action
(actions/order_self_service.py) explains why. `problem` needs only the order number: a person checks it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_access import order_system, verified_customer
from actions.order_tasks import PROBLEM, READING_TASKS, vocabulary
from catalog.lookup import products_named_in
from orders import policy
from orders.errors import OrderError
from orders.model import AWAITING_SHIPMENT, COMPLETED, DELIVERED, PENDING_PAYMENT, SHIPPED, Order

FORM = "order_problem_form"
TASK_SLOT, ORDER_SLOT = "order_task", "order_number"
LAST4_SLOT, PROVEN_SLOT, FAILURES_SLOT = "phone_last4", "proven_order", "ownership_failures"
KIND_SLOT, RECEIVER_SLOT = "after_sale_kind", "new_receiver"
TITLE_SLOT, TAX_SLOT, EMAIL_SLOT = "invoice_title", "invoice_tax_id", "invoice_email"
CONFIRM_SLOT, OUTCOME_SLOT = "order_confirmed", "order_outcome"
# counts the customer's turns while the form waits; setting it keeps the form going and asking again
WAITING_SLOT = "order_form_turns"
# slots of one task, cleared when a new task starts and when it ends (the phone_last4 question's answer is never
# kept: only the proof, proven_order)
TASK_SLOTS = (KIND_SLOT, RECEIVER_SLOT, TITLE_SLOT, TAX_SLOT, EMAIL_SLOT, CONFIRM_SLOT, OUTCOME_SLOT)
# while the bot waits, more about the order keeps the form (it asks again); anything else the form cannot use
# leaves it (an "ok" or a statement: later; a new question, 算了, a person)
STAY_INTENTS = ("order_problem",)
# the states of the orders a task can be about: offered first, and the only one is taken without asking
LIKELY_STATUSES = {
    "urge": (AWAITING_SHIPMENT,), "not_shipped": (AWAITING_SHIPMENT, PENDING_PAYMENT), "track": (SHIPPED,),
    "cancel": (PENDING_PAYMENT, AWAITING_SHIPMENT), "change_receiver": (PENDING_PAYMENT, AWAITING_SHIPMENT),
    "after_sale": (DELIVERED, COMPLETED), "invoice": (DELIVERED, COMPLETED, SHIPPED, AWAITING_SHIPMENT),
}
# wrong last-4 answers before the bot stops looking (in one conversation): 4 digits are easy to guess
MAX_OWNERSHIP_FAILURES = 3

LAST4 = re.compile(r"(?<!\d)(\d{4})(?!\d)")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
TAX_ID = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{15,20})(?![0-9A-Za-z])")
ADDRESS_MARK = re.compile(r"[省市区县镇乡村路街道号弄巷栋楼室单元]")
NAME = re.compile(r"(?:收货人|收件人|名字)(?:改成|改为|换成|是|:|：)?\s*([\u4e00-\u9fa5]{2,4})")
COMPANY_MARK = re.compile(r"公司|有限|集团|厂|商行|中心|学校|医院|事务所|研究所|工作室|协会|门市部")
YES_WORDS = ("确认", "确定", "是的", "对的", "好的", "可以", "没问题", "嗯", "行", "提交", "ok")
NO_WORDS = ("不用", "不要", "算了", "取消吧", "先不", "别", "不了", "不确认", "no")


def this_turns_slot(tracker: Tracker, name: str) -> Optional[Any]:
    """A slot's value when it was set since the customer's latest message (by a button's payload or by the
    action that started the form), else None."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return None
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


def typed_order_number(tracker: Tracker) -> Optional[str]:
    """An order number typed in this message or in its pasted card."""
    entity = next(tracker.get_latest_entity_values(ORDER_SLOT), None)
    card = (tracker.latest_message.get("shop_message") or {}).get(ORDER_SLOT)
    return str(entity or card) if entity or card else None


def page_order_number(tracker: Tracker) -> Optional[str]:
    value = (tracker.latest_message.get("metadata") or {}).get(ORDER_SLOT)
    return str(value) if value else None


def order_by_product_words(text: str, orders: List[Order]) -> Optional[Order]:
    """The one order holding a product the message names (我买的耳机); None when none or several do."""
    named = {p.id for p in products_named_in(text)}
    if not named:
        return None
    matching = [o for o in orders if any(item.product_id in named for item in o.items)]
    return matching[0] if len(matching) == 1 else None


def likely_orders(task: str, orders: List[Order]) -> List[Order]:
    """The orders a task can be about, by their state (urge: those waiting to be sent)."""
    return [o for o in orders if o.status in LIKELY_STATUSES.get(task, ())]


def only_likely_order(task: str, orders: List[Order]) -> Optional[Order]:
    """The customer's one order the task can be about (还没发货 with one order waiting to be sent); None when
    there are several or none, and for an invoice (any order may need one)."""
    if task == "invoice":
        return None
    likely = likely_orders(task, orders)
    return likely[0] if len(likely) == 1 else None


def confirmation_from(tracker: Tracker) -> Optional[bool]:
    """The customer's yes or no to a confirmation question."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    text = (tracker.latest_message.get("text") or "").strip().lower()
    if any(w in text for w in NO_WORDS):
        return False
    if any(w in text for w in YES_WORDS):
        return True
    return None


def receiver_from(text: str) -> Dict[str, str]:
    """The new receiver details a message gives: a mobile number, a name after 收货人, an address."""
    found: Dict[str, str] = {}
    phone = PHONE.search(text)
    if phone:
        found["phone"] = phone.group(1)
    name = NAME.search(text)
    if name:
        found["name"] = name.group(1)
    rest = PHONE.sub(" ", NAME.sub(" ", text))
    rest = re.sub(r"^(?:地址|新地址|收货地址)?(?:改成|改为|换成|是)?[:：\s]*", "", rest.strip())
    if len(ADDRESS_MARK.findall(rest)) >= 2 and len(rest) >= 6:
        found["address"] = rest.strip(" ，,。")
    return found


def is_owner(order: Optional[Order], customer_id: Optional[str], proven: Optional[str]) -> bool:
    """The order is this customer's: signed in as its customer, or the phone check passed in this conversation."""
    if order is None:
        return False
    return bool(customer_id and order.customer_id == customer_id) or proven == order.order_number


def refusal(task: str, order: Order, kind: Optional[str]) -> Optional[policy.Decision]:
    """The shop's rule when it does not allow the task on this order (None: allowed, or it only reads)."""
    now = datetime.now(timezone.utc)
    checks = {
        "urge": lambda: policy.can_urge(order),
        "cancel": lambda: policy.can_cancel(order),
        "change_receiver": lambda: policy.can_change_receiver(order),
        "invoice": lambda: policy.can_request_invoice(order, now),
        "after_sale": lambda: policy.can_start_after_sale(order, kind, now) if kind else None,
    }
    decision = checks[task]() if task in checks else None
    return decision if decision is not None and not decision.allowed else None


class FormSlots:
    """The slots as this turn leaves them: what the tracker had, with this turn's changes (the events to return)."""

    def __init__(self, tracker: Tracker) -> None:
        self.values: Dict[str, Any] = dict(tracker.slots)
        self.changes: Dict[str, Any] = {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def put(self, name: str, value: Any) -> None:
        if self.values.get(name) != value:
            self.changes[name] = value
        self.values[name] = value

    def events(self, requested: Optional[str]) -> List[EventType]:
        return [SlotSet(k, v) for k, v in self.changes.items()] + [SlotSet("requested_slot", requested)]


class ValidateOrderForm(Action):
    """The form's validation action (Rasa calls `validate_<form>`): takes what the customer said and decides
    what the form asks next, from it and the order itself. Rasa's form then asks (`action_ask_<slot>`), or ends
    when `requested_slot` is None."""

    def name(self) -> str:
        return f"validate_{FORM}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        slots = FormSlots(tracker)
        text = str(tracker.latest_message.get("text") or "")
        requested = tracker.get_slot("requested_slot")
        customer_id = verified_customer(tracker)
        fresh = requested is None
        if fresh:
            # a button names its task; else the customer's words; else what started the form (a knowledge-base
            # question about their own order)
            task = (next(tracker.get_latest_entity_values(TASK_SLOT), None) or vocabulary().task_from_words(text)
                    or this_turns_slot(tracker, TASK_SLOT) or PROBLEM)
            slots.put(TASK_SLOT, task)
            slots.put(WAITING_SLOT, 0.0)
            for name in TASK_SLOTS:
                slots.put(name, None)
        task = slots.get(TASK_SLOT) or PROBLEM
        try:
            if fresh or typed_order_number(tracker):
                # a new request starts from the order it names, or asks (an earlier one's is not assumed)
                slots.put(ORDER_SLOT, await self._order_named(tracker, task, customer_id, slots, text))
            if fresh and task == "after_sale":
                slots.put(KIND_SLOT, vocabulary().after_sale_kind(text))
            await self._fill_requested(dispatcher, tracker, requested, text, slots)
            next_slot = await self._next_slot(task, customer_id, slots)
        except OrderError:
            slots.put(OUTCOME_SLOT, "unavailable")
            next_slot = None
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if requested is not None and not slots.changes and intent in STAY_INTENTS:
            # more about the order, nothing the form can use: it keeps going and asks again (with no slot set,
            # Rasa would take the form as rejected and its rules would leave it)
            slots.put(WAITING_SLOT, float((slots.get(WAITING_SLOT) or 0) + 1))
        return slots.events(next_slot)

    @staticmethod
    async def _order_named(tracker: Tracker, task: str, customer_id: Optional[str], slots: FormSlots,
                           text: str) -> Optional[str]:
        """The order this message is about: typed or pasted; for a signed-in customer, the one of theirs its
        product words or its task point to, or the page's when it is theirs (a page left open by someone else is
        not); for an anonymous one, the page's or an earlier turn's (no need to give and prove it again)."""
        number = typed_order_number(tracker)
        if number:
            return number
        page = page_order_number(tracker)
        if not customer_id:
            return page or slots.get(ORDER_SLOT)
        mine = await order_system().orders_of(customer_id, 10)
        match = order_by_product_words(text, mine) or only_likely_order(task, mine)
        if match:
            return match.order_number
        return page if page in {o.order_number for o in mine} else None

    async def _fill_requested(self, dispatcher: CollectingDispatcher, tracker: Tracker, requested: Optional[str],
                              text: str, slots: FormSlots) -> None:
        """The value the customer gave for the question the form asked."""
        if requested == LAST4_SLOT and slots.get(ORDER_SLOT):
            phone = PHONE.search(text) or LAST4.search(text)
            if not phone:
                return
            # only the proof is kept, not the digits
            if await order_system().phone_matches(slots.get(ORDER_SLOT), phone.group(1)[-4:]):
                slots.put(PROVEN_SLOT, slots.get(ORDER_SLOT))
                return
            failures = float((slots.get(FAILURES_SLOT) or 0) + 1)
            slots.put(FAILURES_SLOT, failures)
            if failures >= MAX_OWNERSHIP_FAILURES:
                slots.put(OUTCOME_SLOT, "not_proven")
            else:
                dispatcher.utter_message(text="订单号和手机号后四位对不上，请核对后再输入一次（是下单时填写的收货手机号）。")
        elif requested == KIND_SLOT:
            slots.put(KIND_SLOT, vocabulary().after_sale_kind(text))
        elif requested == RECEIVER_SLOT:
            found = receiver_from(text)
            if found:
                slots.put(RECEIVER_SLOT, json.dumps(found, ensure_ascii=False))
        elif requested == TITLE_SLOT:
            stripped = text.strip(" 。，,")
            if "个人" in stripped:
                slots.put(TITLE_SLOT, "个人")
            elif COMPANY_MARK.search(stripped) and len(stripped) >= 4:
                slots.put(TITLE_SLOT, stripped)
        elif requested == TAX_SLOT:
            tax = TAX_ID.search(text)
            if tax:
                slots.put(TAX_SLOT, tax.group(1).upper())
        elif requested == EMAIL_SLOT:
            email = EMAIL.search(text)
            if email:
                slots.put(EMAIL_SLOT, email.group(0))
        elif requested == CONFIRM_SLOT:
            answer = confirmation_from(tracker)
            if answer is not None:
                slots.put(CONFIRM_SLOT, answer)

    @staticmethod
    def _task_for_state(task: str, order: Order, slots: FormSlots) -> str:
        """What the customer wants, in the shop's terms for this order: a refund of an order not yet sent is its
        cancellation (鼠标不要了 还没发货 给我退款); cancelling a received one is a return."""
        if task == "after_sale" and order.status in (PENDING_PAYMENT, AWAITING_SHIPMENT):
            slots.put(TASK_SLOT, "cancel")
            return "cancel"
        if task == "cancel" and order.status in (DELIVERED, COMPLETED):
            slots.put(TASK_SLOT, "after_sale")
            if not slots.get(KIND_SLOT):
                slots.put(KIND_SLOT, "return")
            return "after_sale"
        return task

    async def _next_slot(self, task: str, customer_id: Optional[str], slots: FormSlots) -> Optional[str]:
        """The next question, or None when the task can be done (or explained) now."""
        if slots.get(OUTCOME_SLOT):
            return None
        number = slots.get(ORDER_SLOT)
        if not number:
            return ORDER_SLOT
        if task == PROBLEM:
            return None
        order = await order_system().order(number)
        if not is_owner(order, customer_id, slots.get(PROVEN_SLOT)):
            # asked of everyone who is not signed in as the order's customer, whether the order exists or not
            return LAST4_SLOT
        if task in READING_TASKS:
            return None
        task = self._task_for_state(task, order, slots)
        if task == "after_sale" and not slots.get(KIND_SLOT):
            return KIND_SLOT
        if refusal(task, order, slots.get(KIND_SLOT)):
            return None  # the completion action explains the shop's rule
        if task == "change_receiver" and not slots.get(RECEIVER_SLOT):
            return RECEIVER_SLOT
        if task == "invoice":
            if not slots.get(TITLE_SLOT):
                return TITLE_SLOT
            if slots.get(TITLE_SLOT) != "个人" and not slots.get(TAX_SLOT):
                return TAX_SLOT
            if not slots.get(EMAIL_SLOT):
                return EMAIL_SLOT
        if slots.get(CONFIRM_SLOT) is None:
            return CONFIRM_SLOT
        return None
