"""OpenSetGate on its own: cards, strict readings, per-label thresholds, support."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from nlu_components.open_set_gate import OpenSetGate


def reading(label: str, confidence: float, second: float = 0.0, shape: str = "text", support: float = 1.0):
    name, _, key = label.partition("/")
    top = {"name": name, "confidence": confidence, **({"intent_response_key": label} if key else {})}
    message = Message(data={"text": "x"})
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
