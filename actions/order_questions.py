"""The order form's questions (Rasa calls `action_ask_<slot>`): each says what it needs and why, offers buttons
where the answer is a choice, and reports the turn (route order, the task, outcome asked)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import report
from actions.order_access import order_system, verified_customer, verified_customers_orders
from actions.order_form import TASK_SLOT, likely_orders
from actions.order_replies import confirmation_text, order_button, parse_receiver
from actions.order_tasks import PROBLEM
from orders.errors import OrderError

LATER = "不需要了可以说“算了”。"


def task_of(tracker: Tracker) -> str:
    return str(tracker.get_slot(TASK_SLOT) or PROBLEM)


def asked(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    report(dispatcher, tracker, "clarification", suggested=[], route="order", self_service=task_of(tracker),
           outcome="asked")


class ActionAskOrderNumber(Action):
    """Which order: a verified customer picks one of their latest orders from buttons (those the task is likely
    about first), or types another number; anyone else is asked for the number."""

    def name(self) -> str:
        return "action_ask_order_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        task = task_of(tracker)
        orders = await verified_customers_orders(verified_customer(tracker), limit=10)
        likely = likely_orders(task, orders)
        orders = (likely + [o for o in orders if o not in likely])[:5]
        if orders:
            dispatcher.utter_message(response="utter_ask_which_of_your_orders",
                                     buttons=[order_button(o, task) for o in orders])
        else:
            dispatcher.utter_message(response="utter_ask_order_number")
        asked(dispatcher, tracker)
        return []


class AskOrderSlot(Action, ABC):
    """A question with fixed text and buttons; each subclass names its slot (abstract here, so that rasa-sdk
    registers only the questions, not this base)."""

    text = ""
    buttons: List[Dict[str, str]] = []

    @property
    @abstractmethod
    def slot(self) -> str:
        """The slot the question fills."""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(text=self.text, buttons=list(self.buttons))
        asked(dispatcher, tracker)
        return []


class ActionAskPhoneLast4(Action):
    """The anonymous customer's proof, for the order number they gave (theirs to see again; nothing of the
    order is said)."""

    def name(self) -> str:
        return "action_ask_phone_last4"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        number = tracker.get_slot("order_number") or ""
        dispatcher.utter_message(text=f"为了保护您的订单信息，请告诉我订单 {number} 收货手机号的后 4 位，"
                                      "核对后我再帮您查看。（登录后咨询可以免去这一步）" + LATER)
        asked(dispatcher, tracker)
        return []


class ActionAskAfterSaleKind(AskOrderSlot):
    slot = "after_sale_kind"
    text = "请问您想申请哪种售后？"
    buttons = [{"title": "退货退款", "payload": "退货退款"}, {"title": "换货", "payload": "换货"},
               {"title": "仅退款（没收到货/少件）", "payload": "仅退款"}]


class ActionAskNewReceiver(AskOrderSlot):
    slot = "new_receiver"
    text = ("请把新的收货信息发给我：要改地址请发完整地址（省市区 + 街道门牌），要改电话请发新的手机号，"
            "改收货人请说“收货人改成 张三”。" + LATER)


class ActionAskInvoiceTitle(AskOrderSlot):
    slot = "invoice_title"
    text = "发票抬头开个人还是单位？单位的话请直接发单位全称。"
    buttons = [{"title": "个人", "payload": "个人"}]


class ActionAskInvoiceTaxId(AskOrderSlot):
    slot = "invoice_tax_id"
    text = "请发一下单位的纳税人识别号（税号，15-20 位字母或数字）。"


class ActionAskInvoiceEmail(AskOrderSlot):
    slot = "invoice_email"
    text = "电子发票发送到哪个邮箱？请发邮箱地址。"


class ActionAskOrderConfirmed(Action):
    """Shows the change in full and asks for a yes or no before anything is changed."""

    def name(self) -> str:
        return "action_ask_order_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        number = str(tracker.get_slot("order_number") or "")
        try:
            order = await order_system().order(number)
        except OrderError:
            order = None
        if order is None:
            dispatcher.utter_message(text=f"请确认是否为订单 {number} 办理？")
        else:
            details = {
                "receiver": parse_receiver(tracker.get_slot("new_receiver")),
                "kind": tracker.get_slot("after_sale_kind"),
                "title": tracker.get_slot("invoice_title"), "tax_id": tracker.get_slot("invoice_tax_id"),
                "email": tracker.get_slot("invoice_email"),
            }
            dispatcher.utter_message(text=confirmation_text(task_of(tracker), order, details),
                                     buttons=[{"title": "确认", "payload": "/affirm"},
                                              {"title": "算了", "payload": "/deny"}])
        asked(dispatcher, tracker)
        return []

