"""The product question action on rasa-sdk trackers: which product, the answer, what is reported."""

from __future__ import annotations

from actions.product_question import ActionProductQuestion
from tests.actions.conftest import entity, make_tracker

EARBUDS = "云朵 无线降噪耳机 Pro"
POWER_BANK = "云朵 20000mAh 快充充电宝"
DEMO_PAGE = {"page_url": "http://127.0.0.1:8000/", "page_title": f"{EARBUDS} - 云朵优品", "product_id": "earbuds-pro"}


def run(dispatcher, domain, text, **kwargs):
    tracker = make_tracker(text, intent="product_question", **kwargs)
    return ActionProductQuestion().run(dispatcher, tracker, domain)


def said(dispatcher):
    return [m for m in dispatcher.messages if m.get("text")]


def report_of(dispatcher):
    [report] = [m["custom"]["analytics"] for m in dispatcher.messages if (m.get("custom") or {}).get("analytics")]
    return report


def slot(name, value):
    return {"event": "slot", "timestamp": None, "name": name, "value": value}


def test_the_pages_product_is_answered_and_remembered(dispatcher, domain):
    events = run(dispatcher, domain, "续航多久", metadata=DEMO_PAGE, slots={"failure_count": 2.0})
    [message] = said(dispatcher)
    assert "总续航 40 小时" in message["text"] and not message.get("buttons")
    assert report_of(dispatcher) == {
        "event": "bot_answer", "route": "product", "self_service": "product", "attribute": "spec",
    }
    assert events == [slot("product", EARBUDS), slot("failure_count", 0.0)]


def test_without_a_product_id_the_page_title_names_the_product(dispatcher, domain):
    run(dispatcher, domain, "有黑色吗", metadata={"page_title": f"{EARBUDS} - 云朵优品"})
    assert "夜空黑" in said(dispatcher)[0]["text"] and report_of(dispatcher)["attribute"] == "variants"


def test_a_product_named_in_the_message_comes_before_the_page(dispatcher, domain):
    events = run(dispatcher, domain, "20000毫安充电宝多少钱", metadata=DEMO_PAGE)
    assert "¥149" in said(dispatcher)[0]["text"] and slot("product", POWER_BANK) in events


def test_a_pasted_product_card_or_link_names_the_product(dispatcher, domain):
    tracker = make_tracker("[商品ID:PB-20K-WHT] 重不重", intent="product_question")
    card = {"kind": "product", "start": 0, "end": 18, "product_id": "PB-20K-WHT"}
    tracker.latest_message["shop_message"] = {"kind": "text", "cards": [card]}
    ActionProductQuestion().run(dispatcher, tracker, domain)
    assert "380 克" in said(dispatcher)[0]["text"]


def test_a_follow_up_is_about_the_product_of_the_earlier_turn(dispatcher, domain):
    run(dispatcher, domain, "那有白色的吗", slots={"product": POWER_BANK})
    assert "月光白" in said(dispatcher)[0]["text"]


def test_the_earlier_turns_product_outranks_the_page_it_was_asked_on(dispatcher, domain):
    history = [
        {"event": "user", "text": "20000毫安充电宝多少钱", "metadata": DEMO_PAGE},
        {"event": "slot", "name": "product", "value": POWER_BANK},
        {"event": "user", "text": "那有白色的吗", "metadata": DEMO_PAGE},
    ]
    run(dispatcher, domain, "那有白色的吗", metadata=DEMO_PAGE, slots={"product": POWER_BANK}, events=history)
    assert "月光白" in said(dispatcher)[0]["text"]


def test_a_new_page_outranks_the_earlier_turns_product(dispatcher, domain):
    other_page = {"page_title": "云朵 扫地机器人 S8 - 云朵优品", "product_id": "robot-vacuum-s8"}
    history = [
        {"event": "user", "text": "20000毫安充电宝多少钱", "metadata": other_page},
        {"event": "slot", "name": "product", "value": POWER_BANK},
    ]
    run(dispatcher, domain, "有白色的吗", metadata=DEMO_PAGE, slots={"product": POWER_BANK}, events=history)
    assert "云朵白" in said(dispatcher)[0]["text"]


def test_a_shared_word_asks_which_product_with_buttons_that_ask_again(dispatcher, domain):
    events = run(dispatcher, domain, "耳机续航多久")
    [message] = said(dispatcher)
    assert message["buttons"][0] == {"title": EARBUDS, "payload": f'/product_question{{"product": "{EARBUDS}"}}'}
    assert [b["title"] for b in message["buttons"]][1:] == [
        "云朵 真无线耳机 Lite", "云朵 运动挂耳耳机", "云朵 头戴式降噪耳机", "转人工",
    ]
    assert report_of(dispatcher) == {
        "event": "clarification", "suggested": [], "route": "product", "self_service": "product", "attribute": "spec",
    }
    assert events == [slot("failure_count", 1.0)]


def test_the_button_answers_the_question_typed_before_it(dispatcher, domain):
    payload = '/product_question{"product": "云朵 头戴式降噪耳机"}'
    history = [{"event": "user", "text": "耳机续航多久"}, {"event": "bot", "text": "您问的是哪一款呢？"},
               {"event": "user", "text": payload}]
    events = run(dispatcher, domain, payload, entities=[entity("product", "云朵 头戴式降噪耳机")], events=history)
    assert "开降噪约 30 小时" in said(dispatcher)[0]["text"]
    assert slot("product", "云朵 头戴式降噪耳机") in events and report_of(dispatcher)["event"] == "bot_answer"


def test_compare_the_pages_product_with_a_named_one(dispatcher, domain):
    run(dispatcher, domain, "和头戴式的有什么区别", metadata=DEMO_PAGE)
    text = said(dispatcher)[0]["text"]
    assert "· 价格：¥499 / ¥599" in text and report_of(dispatcher)["attribute"] == "compare"


def test_what_the_catalog_does_not_say_is_said_honestly_with_a_person_offered(dispatcher, domain):
    events = run(dispatcher, domain, "充电宝防水吗", slots={"product": POWER_BANK})
    [message] = said(dispatcher)
    assert "没有写防水" in message["text"] and message["buttons"] == [{"title": "转人工", "payload": "/handoff"}]
    assert report_of(dispatcher) == {
        "event": "fallback", "route": "product", "self_service": "product", "attribute": "spec", "outcome": "unknown",
    }
    assert events == [slot("product", POWER_BANK), slot("failure_count", 1.0)]


def test_too_many_unanswered_turns_in_a_row_go_to_a_person(dispatcher, domain):
    run(dispatcher, domain, "这个适合送给长辈吗", metadata=DEMO_PAGE, slots={"failure_count": 2.0})
    [handoff] = [m["custom"]["handoff"] for m in dispatcher.messages if "handoff" in (m.get("custom") or {})]
    assert handoff["reason"] == "repeated_failure" and not said(dispatcher)


def test_a_product_the_shop_does_not_sell_is_not_answered_with_the_pages(dispatcher, domain):
    events = run(dispatcher, domain, "iPhone 15盒子里有充电头吗", metadata=DEMO_PAGE,
                 entities=[entity("product", "iPhone 15")])
    [message] = said(dispatcher)
    assert "「iPhone 15」" in message["text"] and EARBUDS not in message["text"]
    assert report_of(dispatcher)["event"] == "fallback" and report_of(dispatcher)["outcome"] == "unknown"
    assert not any(e["name"] == "product" for e in events)


def test_a_follow_up_naming_only_a_shared_word_keeps_the_earlier_product(dispatcher, domain):
    # NLU fills the slot with 充电宝 (three products); the power bank settled before is still the one meant
    history = [
        {"event": "user", "text": "20000毫安充电宝多少钱", "metadata": DEMO_PAGE},
        {"event": "slot", "name": "product", "value": POWER_BANK},
        {"event": "user", "text": "那充电宝有白色的吗", "metadata": DEMO_PAGE},
        {"event": "slot", "name": "product", "value": "充电宝"},
    ]
    run(dispatcher, domain, "那充电宝有白色的吗", metadata=DEMO_PAGE, slots={"product": "充电宝"}, events=history,
        entities=[entity("product", "充电宝")])
    assert "月光白" in said(dispatcher)[0]["text"]
