"""Order self-service, turn by turn as Rasa runs the form (validate, ask or complete), on the embedded demo
order system in a fresh database. The real Rasa, action server and gateway run the same flows in
tests/e2e/test_order_self_service_with_rasa.py."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest

from actions import order_access, order_form, order_questions, order_self_service
from actions.answer_faq import ActionAnswerFaq
from actions.order_form import ValidateOrderForm
from actions.order_questions import (
    ActionAskAfterSaleKind,
    ActionAskInvoiceEmail,
    ActionAskInvoiceTaxId,
    ActionAskInvoiceTitle,
    ActionAskNewReceiver,
    ActionAskOrderConfirmed,
    ActionAskOrderNumber,
    ActionAskPhoneLast4,
)
from actions.order_self_service import ActionOrderProblem
from actions.order_tasks import vocabulary
from core.db import create_database_engine, upgrade_schema
from orders.demo_system import DemoOrderSystem
from tests.actions.conftest import entity, make_tracker

WANG, CHEN = "C10086", "C30452"
WANG_SHIPPED, WANG_WAITING, WANG_DELIVERED = "2026120112345678", "2026120398765432", "2026112055501234"
WANG_UNPAID = "2026120500001111"
CHEN_WAITING = "2026120244445555"
ASKERS = {a().name(): a() for a in (
    ActionAskOrderNumber, ActionAskPhoneLast4, ActionAskAfterSaleKind, ActionAskNewReceiver, ActionAskInvoiceTitle,
    ActionAskInvoiceTaxId, ActionAskInvoiceEmail, ActionAskOrderConfirmed)}


@pytest.fixture
def orders(tmp_path, monkeypatch) -> DemoOrderSystem:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade_schema(engine)
    system = DemoOrderSystem(engine)
    for module in (order_access, order_form, order_questions, order_self_service):
        monkeypatch.setattr(module, "order_system", lambda: system)
    yield system
    engine.dispose()


class Conversation:
    """One customer's conversation with the order form, run the way Rasa runs it."""

    def __init__(self, customer: Optional[str] = None, page_order: Optional[str] = None) -> None:
        self.slots: Dict[str, Any] = {"requested_slot": None}
        self.metadata = {**({"customer_id": customer} if customer else {}),
                         **({"order_number": page_order} if page_order else {})}
        self.active = False
        self.replies: List[Dict[str, Any]] = []

    def tracker(self, text: str, intent: str, entities: List[Dict[str, Any]], events: List[Dict[str, Any]]):
        return make_tracker(text, intent=intent, entities=entities, slots=dict(self.slots), metadata=self.metadata,
                            events=[{"event": "user", "text": text}, *events])

    def apply(self, events: List[Dict[str, Any]]) -> None:
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]

    def say(self, text: str, intent: str = "order_problem", entities: Optional[List[Dict[str, Any]]] = None,
            turn_events: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
        """The bot's messages for one customer message; raises Rejected when the form would not take it."""
        from rasa_sdk.executor import CollectingDispatcher

        entities = entities or []
        turn_events = turn_events or []
        for e in entities:  # Rasa's slot mappings from entities
            if e["entity"] in ("order_number", "order_task"):
                self.slots[e["entity"]] = e["value"]
        self.apply(turn_events)
        dispatcher = CollectingDispatcher()
        tracker = self.tracker(text, intent, entities, turn_events)
        events = asyncio.run(ValidateOrderForm().run(dispatcher, tracker, {}))
        filled = [e for e in events if e["name"] != "requested_slot"]
        if self.active and not filled and not entities:
            raise Rejected(text)
        self.active = True
        self.apply(events)
        tracker = self.tracker(text, intent, entities, turn_events)
        asker = ASKERS.get(f"action_ask_{self.slots['requested_slot']}")
        if asker is not None:
            result = asker.run(dispatcher, tracker, {})
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        else:
            self.active = False
            self.apply(asyncio.run(ActionOrderProblem().run(dispatcher, tracker, {})))
            self.slots["requested_slot"] = None
        self.replies = dispatcher.messages
        return dispatcher.messages


class Rejected(Exception):
    """The form could not use the message: Rasa's rules take it (a new question, 算了)."""


def texts(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def analytics(messages) -> Dict[str, Any]:
    return next(m["custom"]["analytics"] for m in messages if (m.get("custom") or {}).get("analytics"))


def test_the_tasks_come_from_the_words():
    words = vocabulary()
    assert words.task_from_words("帮我催一下发货") == "urge"
    assert words.task_from_words("还没发货啊") == "not_shipped"
    assert words.task_from_words("我的快递到哪了") == "track"
    assert words.task_from_words("地址写错了") == "change_receiver"
    assert words.task_from_words("收到的耳机坏了想退货") == "after_sale"
    assert words.task_from_words("少发了一件") == "problem"
    assert words.task_from_words("你好") is None
    assert words.after_sale_kind("想换个颜色") == "exchange"


def test_a_verified_customer_naming_the_product_sees_its_tracking_at_once(orders):
    chat = Conversation(WANG)
    replies = chat.say("我买的耳机到哪了")
    text = texts(replies)
    assert WANG_SHIPPED in text and "顺丰速运" in text and "SF1402837465921" in text and "张江营业点" in text
    assert analytics(replies) == {"event": "bot_answer", "route": "order", "self_service": "track", "outcome": "done"}


def test_a_verified_customer_picks_from_their_orders_likely_ones_first(orders):
    chat = Conversation(WANG)
    replies = chat.say("我想取消订单")
    titles = [b["title"] for b in replies[0]["buttons"]]
    assert {WANG_UNPAID, WANG_WAITING} == {t.split()[0] for t in titles[:2]}, "orders that can be cancelled first"
    assert all('"order_task": "cancel"' in b["payload"] for b in replies[0]["buttons"])
    assert analytics(replies)["outcome"] == "asked"
    pick = next(b for b in replies[0]["buttons"] if WANG_WAITING in b["title"])
    confirm = chat.say(pick["title"], entities=[entity("order_number", WANG_WAITING), entity("order_task", "cancel")])
    assert "确认取消" in texts(confirm) and [b["payload"] for b in confirm[0]["buttons"]] == ["/affirm", "/deny"]


def test_urge_takes_the_one_order_waiting_to_be_sent_and_records_it_after_a_yes(orders):
    chat = Conversation(WANG)
    confirm = chat.say("帮我催一下发货")
    assert WANG_WAITING in texts(confirm) and "确认" in texts(confirm)
    done = chat.say("确认", intent="affirm")
    assert "已帮您催促仓库" in texts(done) and analytics(done)["outcome"] == "done"
    assert asyncio.run(orders.order(WANG_WAITING)).shipment_urged_at is not None


def test_an_anonymous_customer_sees_nothing_before_the_phone_check(orders):
    chat = Conversation()
    asked = chat.say(f"订单{WANG_SHIPPED}到哪了", entities=[entity("order_number", WANG_SHIPPED)])
    assert "后 4 位" in texts(asked)
    wrong = chat.say("1234", intent="inform")
    assert "对不上" in texts(wrong) and "SF1402837465921" not in texts(wrong) and "顺丰" not in texts(wrong)
    right = chat.say("8000", intent="inform")
    assert "SF1402837465921" in texts(right)


def test_three_wrong_phone_checks_end_it_without_a_word_of_the_order(orders):
    chat = Conversation()
    chat.say("2026120398765432还没发货", entities=[entity("order_number", WANG_WAITING)])
    chat.say("1111", intent="inform")
    chat.say("2222", intent="inform")
    last = chat.say("3333", intent="inform")
    assert "不能再查" in texts(last) and "充电宝" not in texts(last)
    assert analytics(last) == {"event": "fallback", "route": "order", "self_service": "not_shipped",
                               "outcome": "not_proven"}


def test_an_unknown_order_number_is_asked_the_same_question_as_a_real_one(orders):
    unknown = Conversation().say("订单2099010100000000到哪了", entities=[entity("order_number", "2099010100000000")])
    known = Conversation().say(f"订单{WANG_SHIPPED}到哪了", entities=[entity("order_number", WANG_SHIPPED)])
    assert texts(unknown).replace("2099010100000000", "N") == texts(known).replace(WANG_SHIPPED, "N"), \
        "whether a number exists is not told before the check"


def test_another_customers_order_needs_the_phone_check_too(orders):
    chat = Conversation(CHEN)
    replies = chat.say(f"{WANG_SHIPPED}到哪了", entities=[entity("order_number", WANG_SHIPPED)])
    assert "后 4 位" in texts(replies) and "顺丰" not in texts(replies)


def test_cancel_before_shipment_after_a_yes_and_only_once(orders):
    chat = Conversation(WANG)
    confirm = chat.say("帮我把这单取消了", entities=[entity("order_number", WANG_UNPAID)])
    assert "确认取消" in texts(confirm)
    done = chat.say("确定", intent="affirm")
    assert "已取消" in texts(done)
    assert asyncio.run(orders.order(WANG_UNPAID)).status == "cancelled"


def test_cancel_after_shipment_is_refused_with_the_rule(orders):
    replies = Conversation(WANG).say("不想要了 取消订单", entities=[entity("order_number", WANG_SHIPPED)])
    assert "已经发货" in texts(replies) and analytics(replies)["outcome"] == "refused"
    assert asyncio.run(orders.order(WANG_SHIPPED)).status == "shipped"


def test_no_at_the_confirmation_changes_nothing(orders):
    chat = Conversation(CHEN)
    chat.say("我要取消订单", entities=[entity("order_number", CHEN_WAITING)])
    declined = chat.say("算了", intent="deny")
    assert "没有做任何修改" in texts(declined) and analytics(declined)["outcome"] == "declined"
    assert asyncio.run(orders.order(CHEN_WAITING)).status == "awaiting_shipment"


def test_change_the_address_before_shipment(orders):
    chat = Conversation(CHEN)
    asked = chat.say("地址填错了 帮我改一下", entities=[entity("order_number", CHEN_WAITING)])
    assert "完整地址" in texts(asked)
    confirm = chat.say("广州市海珠区新港西路135号中山大学东区8栋", intent="inform")
    assert "新港西路135号" in texts(confirm)
    chat.say("好的", intent="affirm")
    assert "新港西路135号" in asyncio.run(orders.order(CHEN_WAITING)).receiver.address


def test_a_return_within_seven_days_asks_the_kind_and_opens_a_request(orders):
    chat = Conversation(WANG)
    asked = chat.say("保温杯我想申请售后", entities=[entity("order_number", WANG_DELIVERED)])
    assert "哪种售后" in texts(asked)
    confirm = chat.say("退货退款", intent="faq")
    assert "退货退款" in texts(confirm)
    done = chat.say("确认", intent="affirm")
    assert "售后单号" in texts(done)
    assert [a.kind for a in asyncio.run(orders.order(WANG_DELIVERED)).after_sales] == ["return"]


def test_an_invoice_for_a_company_asks_title_tax_id_and_email(orders):
    chat = Conversation(WANG)
    assert "抬头" in texts(chat.say("帮我开个发票", entities=[entity("order_number", WANG_DELIVERED)]))
    assert "税号" in texts(chat.say("上海云舟信息科技有限公司", intent="inform"))
    assert "邮箱" in texts(chat.say("91310115MA1K4XXXXX", intent="inform"))
    confirm = chat.say("fin@yunzhou.example.com", intent="inform")
    assert "上海云舟信息科技有限公司" in texts(confirm) and "fin@yunzhou.example.com" in texts(confirm)
    chat.say("确认", intent="affirm")
    invoice = asyncio.run(orders.order(WANG_DELIVERED)).invoice
    assert invoice.title == "上海云舟信息科技有限公司" and invoice.tax_id == "91310115MA1K4XXXXX"


def test_a_new_question_while_the_form_waits_is_left_to_the_rules(orders):
    chat = Conversation(WANG)
    chat.say("帮我改下收货地址", entities=[entity("order_number", WANG_WAITING)])
    with pytest.raises(Rejected):
        chat.say("退款多久到账", intent="faq")


def test_not_shipped_gives_the_rule_and_this_orders_promise(orders):
    replies = Conversation(CHEN).say("怎么还没发货", entities=[entity("order_number", CHEN_WAITING)])
    assert "16:00 前付款当天发货" in texts(replies) and "承诺" in texts(replies)
    assert analytics(replies)["self_service"] == "not_shipped"


def test_a_problem_goes_to_a_person_with_the_order(orders):
    replies = Conversation(WANG).say("少发了一件", entities=[entity("order_number", WANG_DELIVERED)])
    handoff = replies[0]["custom"]["handoff"]
    assert handoff["reason"] == "order_issue" and WANG_DELIVERED in handoff["detail"]


def test_a_policy_question_about_ones_own_order_starts_the_task(orders, dispatcher, domain):
    own = make_tracker("我想取消订单", intent="faq", faq_key="order_cancel")
    events = ActionAnswerFaq().run(dispatcher, own, domain)
    assert {"event": "slot", "timestamp": None, "name": "order_task", "value": "cancel"} in events
    assert events[-1]["name"] == "order_problem_form"
    general = make_tracker("下单后怎么取消订单", intent="faq", faq_key="order_cancel")
    ActionAnswerFaq().run(dispatcher, general, domain)
    assert any('"order_task": "cancel"' in b["payload"] for b in dispatcher.messages[-2]["buttons"])


def test_the_order_system_down_is_said_plainly(orders, monkeypatch):
    from orders.errors import ShopUnavailable

    async def down(*args, **kwargs):
        raise ShopUnavailable("the shop's API timed out")

    monkeypatch.setattr(orders, "order", down)
    replies = Conversation(WANG).say("我的快递到哪了", entities=[entity("order_number", WANG_SHIPPED)])
    assert "暂时查不到" in texts(replies) and {"title": "转人工", "payload": "/handoff"} in replies[0]["buttons"]
    assert analytics(replies)["outcome"] == "unavailable"


@pytest.mark.parametrize("text, entry_task, number, verified, entry_read, expected", [
    ("我想取消订单", "cancel", False, False, True, "cancel"),          # one's own order
    ("下单后怎么取消订单", "cancel", False, False, True, None),         # a question about the policy
    ("取消订单", "cancel", False, False, True, "cancel"),               # a request
    ("地址写错了能改吗", "change_receiver", False, True, True, "change_receiver"),  # signed in: their order
    ("一般下单多久发货", "not_shipped", False, True, True, None),       # the policy, whoever asks
    ("退货运费谁出", None, False, True, True, None),                    # not a task's entry
    ("要开增值税专票", None, True, False, True, "invoice"),             # an order number and a task's words
    ("电话填错了 最后一位是6", None, False, False, False, "change_receiver"),  # unsure, but a request
    ("退款", None, False, False, False, None),                          # unsure, and only a topic
])
def test_which_readings_start_an_order_task(text, entry_task, number, verified, entry_read, expected):
    from actions.order_tasks import task_to_start

    assert task_to_start(text, entry_task, number, verified, entry_read) == expected


def test_a_refund_of_an_order_not_yet_sent_is_its_cancellation(orders):
    confirm = Conversation(CHEN).say("鼠标不要了 给我退款", entities=[entity("order_number", CHEN_WAITING)])
    assert "确认取消" in texts(confirm) and analytics(confirm)["self_service"] == "cancel"


def test_a_signed_in_customers_new_request_asks_which_order_again(orders):
    chat = Conversation(WANG)
    chat.say("我买的耳机到哪了")
    assert chat.slots["order_number"] == WANG_SHIPPED
    asked = chat.say("东西少发了一件")
    assert asked[0]["response"] == "utter_ask_which_of_your_orders", "not assumed to be the earbuds again"


def test_a_page_naming_another_customers_order_is_not_taken_for_a_signed_in_customer(orders):
    asked = Conversation(CHEN, page_order=WANG_SHIPPED).say("东西少发了一件")
    assert asked[0]["response"] == "utter_ask_which_of_your_orders"
    assert not any(WANG_SHIPPED in b["title"] for b in asked[0]["buttons"])


def test_the_proof_is_kept_not_the_phones_digits(orders):
    chat = Conversation()
    chat.say(f"订单{CHEN_WAITING}地址写错了", entities=[entity("order_number", CHEN_WAITING)])
    asked = chat.say("2222", intent="inform")
    assert "完整地址" in texts(asked), "proven: the form goes on to the new address"
    assert chat.slots["proven_order"] == CHEN_WAITING and chat.slots.get("phone_last4") is None
