"""End to end: the real Rasa server and action server on loopback, talking through Rasa's REST channel."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from knowledge import load_knowledge_base
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def rest_url(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def say(url: str, sender: str, message: str) -> list:
    body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read().decode("utf-8"))


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(ROOT / "data" / "kb")


@pytest.mark.slow
def test_a_faq_question_gets_its_knowledge_base_answer(rest_url, kb):
    entry = kb.get("refund_arrival_time") or next(e for e in kb if e.category == "refund")
    replies = say(rest_url, "e2e-faq", entry.paraphrases[0])
    assert replies[0]["text"] == entry.answer


@pytest.mark.slow
def test_an_order_number_shapes_the_answer(rest_url, kb):
    # an anonymous customer: asked to prove that order is theirs before anything of it is shown
    replies = say(rest_url, "e2e-order", "帮我查下订单2024061812345678到哪了")
    assert any("2024061812345678" in r.get("text", "") and "后 4 位" in r.get("text", "") for r in replies)


@pytest.mark.slow
def test_a_suggestion_button_payload_answers_that_entry(rest_url, kb):
    entry = next(iter(kb))
    replies = say(rest_url, "e2e-button", '/faq{"faq_key":"%s"}' % entry.key)
    assert replies[0]["text"] == entry.answer


@pytest.mark.slow
def test_gibberish_gets_an_honest_answer_with_the_hotline(rest_url):
    replies = say(rest_url, "e2e-fail", "qwerty asdf zxcv")
    texts = " ".join(r.get("text", "") for r in replies)
    assert "抱歉" in texts and "400-820-6688" in texts
    assert not any(r.get("buttons") for r in replies)


@pytest.mark.slow
def test_a_request_for_a_person_is_a_handoff_request_for_the_gateway(rest_url):
    replies = say(rest_url, "e2e-human", "转人工")
    [handoff] = [r["custom"]["handoff"] for r in replies if "custom" in r]
    assert handoff["reason"] == "request_human"
    # the gateway keeps the transcript: the request carries only the decision
    assert "transcript" not in handoff


@pytest.mark.slow
def test_the_gateway_channel_answers_as_rest_does_with_the_reading_rasa_logged(stack, rest_url, kb):
    entry = kb.get("refund_arrival_time")
    question = entry.paraphrases[0]
    gateway_url = f"{stack.rasa_url}/webhooks/gateway/webhook"
    body = json.dumps({"sender": "e2e-gateway-channel", "message": question, "input_channel": "widget",
                       "metadata": {"customer_id": "C1"}}).encode("utf-8")
    request = urllib.request.Request(gateway_url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read().decode("utf-8"))
    assert answer["messages"][0]["text"] == entry.answer
    # the same replies as Rasa's REST channel gives a fresh conversation
    rest = say(rest_url, "e2e-rest-twin", question)
    assert [m.get("text") for m in answer["messages"]] == [m.get("text") for m in rest]
    reading = answer["reading"]
    assert reading["intent"] == "faq/refund_arrival_time" and reading["faq_key"] == "refund_arrival_time"
    # parsed once: the reading is of the very parse Rasa keeps in the tracker
    url = stack.rasa_api("/conversations/e2e-gateway-channel/tracker")
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.loads(response.read())
    [user] = [e for e in tracker["events"] if e["event"] == "user"]
    logged = user["parse_data"]["intent"]
    assert logged["name"] == "faq" and round(logged["confidence"], 3) == reading["confidence"]
    assert user["input_channel"] == "widget" and user["metadata"]["customer_id"] == "C1"


@pytest.mark.slow
def test_the_gateway_channel_refuses_a_body_without_sender_or_message(stack):
    request = urllib.request.Request(f"{stack.rasa_url}/webhooks/gateway/webhook", b'{"message": 1}',
                                     {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400 and "sender" in json.loads(refused.value.read())["error"]


@pytest.mark.slow
def test_a_restarted_rasa_continues_the_conversation_with_its_slots(stack, rest_url):
    say(rest_url, "e2e-restart", "qwerty asdf zxcv")
    tracker_url = stack.rasa_api("/conversations/e2e-restart/tracker")
    with urllib.request.urlopen(tracker_url, timeout=30) as response:
        before = json.loads(response.read().decode("utf-8"))
    assert before["slots"]["failure_count"] == 1.0
    stack.stop("Rasa server")
    stack.start("Rasa server")
    with urllib.request.urlopen(tracker_url, timeout=30) as response:
        after = json.loads(response.read().decode("utf-8"))
    assert after["slots"]["failure_count"] == 1.0
    assert [e["event"] for e in after["events"]] == [e["event"] for e in before["events"]]
    # and the conversation goes on from there: a second failure counts as the second
    say(rest_url, "e2e-restart", "zxcv qwerty")
    with urllib.request.urlopen(tracker_url, timeout=30) as response:
        assert json.loads(response.read().decode("utf-8"))["slots"]["failure_count"] == 2.0
