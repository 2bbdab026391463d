"""What the knowledge base cannot answer: one-order problems, pasted cards, bargaining (product questions:
tests/actions/test_product_question.py)."""

from __future__ import annotations

import asyncio

from actions.acknowledge import ActionAcknowledgeCard
from actions.answer_faq import ActionAnswerFaq
from actions.order_form import ValidateOrderForm
from actions.order_questions import ActionAskOrderNumber
from actions.order_self_service import ActionOrderProblem
from tests.actions.conftest import entity, make_tracker


def report_of(dispatcher):
    return next(m["custom"]["analytics"] for m in dispatcher.messages if (m.get("custom") or {}).get("analytics"))


def test_an_order_problem_with_its_number_goes_to_a_person_with_it(dispatcher, domain):
    tracker = make_tracker("订单2026061812345678怎么还没发货", intent="order_problem",
                           entities=[entity("order_number", "2026061812345678")])
    events = asyncio.run(ActionOrderProblem().run(dispatcher, tracker, domain))
    handoff = dispatcher.messages[0]["custom"]["handoff"]
    assert handoff["reason"] == "order_issue" and "2026061812345678" in handoff["detail"]
    assert {"event": "slot", "timestamp": None, "name": "order_number", "value": "2026061812345678"} in events


def test_the_order_number_can_come_from_a_pasted_card_or_the_page(dispatcher, domain):
    tracker = make_tracker("还没发货", intent="order_problem", metadata={"order_number": "2026010100000001"})
    asyncio.run(ActionOrderProblem().run(dispatcher, tracker, domain))
    assert "2026010100000001" in dispatcher.messages[0]["custom"]["handoff"]["detail"]


def test_asking_for_the_order_number_is_reported_as_the_order_route(dispatcher, domain):
    # an anonymous visitor (no verified customer id in the metadata): asked for the number, no orders read
    asyncio.run(ActionAskOrderNumber().run(dispatcher, make_tracker("快递不动了", intent="order_problem"), domain))
    assert dispatcher.messages[0]["response"] == "utter_ask_order_number"
    assert report_of(dispatcher)["route"] == "order"


def run_validation(tracker, dispatcher, domain):
    return asyncio.run(ValidateOrderForm().run(dispatcher, tracker, domain))


def test_more_about_the_problem_while_waiting_for_the_order_number_keeps_the_form(dispatcher, domain):
    tracker = make_tracker("快点帮我看看啊", intent="order_problem", slots={"requested_slot": "order_number"})
    events = run_validation(tracker, dispatcher, domain)
    assert any(e["name"] == "order_form_turns" for e in events)


def test_an_ok_while_waiting_leaves_the_form_to_the_rules(dispatcher, domain):
    tracker = make_tracker("好的", intent="affirm", slots={"requested_slot": "order_number"})
    # only the question again, no slot filled: Rasa takes the form as rejected and its rules leave it
    assert [e["name"] for e in run_validation(tracker, dispatcher, domain)] == ["requested_slot"]


def test_a_new_question_while_waiting_does_not_keep_the_form(dispatcher, domain):
    tracker = make_tracker("退款多久到账", intent="faq", faq_key="refund_arrival_time",
                           slots={"requested_slot": "order_number"})
    events = run_validation(tracker, dispatcher, domain)
    assert not any(e.get("name") in ("order_form_turns", "order_number") for e in events)


def test_a_pasted_card_fills_the_order_number(dispatcher, domain):
    tracker = make_tracker("[订单编号:2026052098765432]", intent="card", slots={"requested_slot": "order_number"})
    tracker.latest_message["shop_message"] = {"kind": "card", "order_number": "2026052098765432"}
    events = run_validation(tracker, dispatcher, domain)
    assert {"event": "slot", "timestamp": None, "name": "order_number", "value": "2026052098765432"} in events


def test_an_order_card_is_acknowledged_and_remembered(dispatcher, domain):
    tracker = make_tracker("[订单编号:2026052098765432]", intent="card")
    tracker.latest_message["shop_message"] = {"kind": "card", "order_number": "2026052098765432", "cards": []}
    events = ActionAcknowledgeCard().run(dispatcher, tracker, domain)
    message = dispatcher.messages[0]
    assert "2026052098765432" in message["text"] and "什么问题" in message["text"]
    assert {"title": "转人工", "payload": "/handoff"} in message["buttons"]
    # what the bot can do with that order itself, on that order
    tracking = next(b for b in message["buttons"] if b["title"] == "查物流")
    assert '"order_task": "track"' in tracking["payload"] and "2026052098765432" in tracking["payload"]
    assert report_of(dispatcher)["route"] == "card"
    assert {"event": "slot", "timestamp": None, "name": "order_number", "value": "2026052098765432"} in events


def test_an_order_number_after_the_bot_asked_for_it_goes_to_a_person(dispatcher, domain):
    asked = {"custom": {"analytics": {"event": "clarification", "route": "order", "suggested": []}}}
    events = [{"event": "user", "text": "还没发货"}, {"event": "bot", "text": "请问是哪个订单？", "data": asked},
              {"event": "user", "text": "2026052098765432"}]
    tracker = make_tracker("2026052098765432", intent="card", events=events)
    tracker.latest_message["shop_message"] = {"kind": "card", "order_number": "2026052098765432", "cards": []}
    result = ActionAcknowledgeCard().run(dispatcher, tracker, domain)
    assert result[-1] == {"event": "followup", "timestamp": None, "name": "action_order_problem"}


def test_a_menu_label_asks_about_its_topic_with_its_common_questions(access, dispatcher, domain):
    tracker = make_tracker("配送咨询", intent="card")
    tracker.latest_message["shop_message"] = {"kind": "page", "topic": "shipping", "cards": []}
    ActionAcknowledgeCard().run(dispatcher, tracker, domain)
    message = dispatcher.messages[0]
    assert access.kb.category_names["shipping"] in message["text"]
    assert report_of(dispatcher)["route"] == "ask"
    assert all(key.startswith("shipping_") for key in report_of(dispatcher)["suggested"])


def bargained_before():
    answer = {"custom": {"analytics": {"event": "bot_answer", "kb_key": "promotion_price_policy", "route": "bargain"}}}
    return [{"event": "user", "text": "便宜点呗"}, {"event": "bot", "text": "...", "data": answer},
            {"event": "user", "text": "再少点嘛"}]


def test_bargaining_gets_the_price_policy(access, dispatcher, domain):
    ActionAnswerFaq().run(dispatcher, make_tracker("能便宜点吗", faq_key="promotion_price_policy"), domain)
    assert dispatcher.messages[0]["text"] == access.kb.get("promotion_price_policy").answer
    assert report_of(dispatcher)["route"] == "bargain"


def test_bargaining_again_after_the_policy_goes_to_a_person(dispatcher, domain):
    tracker = make_tracker("再少点嘛", faq_key="promotion_price_policy", events=bargained_before())
    ActionAnswerFaq().run(dispatcher, tracker, domain)
    handoff = dispatcher.messages[0]["custom"]["handoff"]
    assert handoff["reason"] == "request_human" and "议价" in handoff["detail"]
