"""OpenSetGate on its own: cards, strict readings, per-label thresholds, support."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from nlu_components.open_set_gate import OpenSetGate


def reading(
    label: str, confidence: float, second: float = 0.0, shape: str = "text", support: float = 1.0, text: str = "x",
):
    name, _, key = label.partition("/")
    top = {"name": name, "confidence": confidence, **({"intent_response_key": label} if key else {})}
    message = Message(data={"text": text})
    message.set("intent", {"name": name, "confidence": confidence})
    message.set("intent_ranking", [top, {"name": "greet", "confidence": second}])
    message.set("shop_message", {"kind": shape})
    message.set("intent_support", {"label": label, "similarity": support})
    return message


def gate(**config):
    return OpenSetGate({**OpenSetGate.get_default_config(), **config})


def intent_after(message, **config):
    return gate(**config).process([message])[0].get("intent")["name"]


def test_a_card_is_read_as_a_card_whatever_the_classifier_said():
    assert intent_after(reading("faq/order_status", 0.99, shape="card")) == "card"
    assert intent_after(reading("greet", 0.4, shape="page")) == "card"


def test_an_answer_below_the_strict_threshold_is_unsure_chit_chat_is_not():
    assert intent_after(reading("faq/order_status", 0.9), strict_threshold=0.95) == "nlu_fallback"
    assert intent_after(reading("faq/order_status", 0.97), strict_threshold=0.95) == "faq"
    assert intent_after(reading("affirm", 0.5), strict_threshold=0.95) == "affirm"


def test_a_label_can_have_its_own_threshold():
    config = {"strict_threshold": 0.95, "label_thresholds": {"complaint": 0.5}}
    assert intent_after(reading("complaint", 0.6), **config) == "complaint"
    assert intent_after(reading("complaint", 0.4), **config) == "nlu_fallback"


def test_low_support_and_a_small_lead_are_unsure():
    assert intent_after(reading("faq/order_status", 0.99, support=0.1), min_support=0.3) == "nlu_fallback"
    assert intent_after(reading("faq/order_status", 0.6, second=0.4), strict_margin=0.3) == "nlu_fallback"


def test_the_fallback_keeps_the_classifier_ranking_for_the_clarification():
    message = gate(strict_threshold=0.95).process([reading("faq/order_status", 0.9)])[0]
    ranking = message.get("intent_ranking")
    assert ranking[0]["name"] == "nlu_fallback" and ranking[1]["intent_response_key"] == "faq/order_status"


ABOUT_AN_ORDER = "亲 这单能不能今天就给我发出去"
OWN_ORDER = {"strict_threshold": 0.95, "own_order_labels": ["nlu_fallback", "inform"]}


def test_an_unsure_reading_about_one_order_goes_to_the_order_route():
    message = gate(**OWN_ORDER).process([reading("faq/shipping_coverage", 0.77, text=ABOUT_AN_ORDER)])[0]
    assert message.get("intent")["name"] == "order_problem"
    assert "这单" in message.get("route_signs")
    assert message.get("intent_ranking")[0]["set_by"] == "route_signs"
    # the classifier's own ranking stays behind it
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["order_problem", "nlu_fallback"]


def test_a_statement_about_one_order_goes_to_the_order_route_chit_chat_does_not():
    assert intent_after(reading("inform", 0.9, text="我昨天拍的到现在还没发货"), **OWN_ORDER) == "order_problem"
    assert intent_after(reading("inform", 0.9, text="我明天在家"), **OWN_ORDER) == "inform"
    assert intent_after(reading("thank", 0.9, text="我的快递到了，谢谢"), **OWN_ORDER) == "thank"


def test_a_confident_answer_about_an_order_keeps_its_answer():
    text = "这个订单开的发票能换成公司抬头吗"
    assert intent_after(reading("faq/invoice_change_title", 0.99, text=text), **OWN_ORDER) == "faq"


def test_the_order_route_is_off_by_default():
    assert intent_after(reading("faq/shipping_coverage", 0.77, text=ABOUT_AN_ORDER), strict_threshold=0.95) == (
        "nlu_fallback"
    )


def test_an_order_number_the_shape_found_is_a_sign_a_phone_number_is_not():
    message = reading("faq/shipping_coverage", 0.6, text="2026061812345678 怎么样了")
    message.set("shop_message", {"kind": "text", "order_number": "2026061812345678"})
    routed = gate(**OWN_ORDER).process([message])[0]
    assert routed.get("intent")["name"] == "order_problem"
    assert routed.get("route_signs") == ["2026061812345678"]
    assert intent_after(reading("faq/shipping_coverage", 0.6, text="13800138000 怎么样了"), **OWN_ORDER) == (
        "nlu_fallback"
    )
