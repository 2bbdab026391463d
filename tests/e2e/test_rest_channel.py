"""End to end: the real Rasa server and action server on loopback, talking through Rasa's REST channel."""

from __future__ import annotations

import json
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
    replies = say(rest_url, "e2e-order", "帮我查下订单2024061812345678到哪了")
    assert any("2024061812345678" in r.get("text", "") for r in replies)


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
    assert handoff["transcript"][-1]["reading"]["intent"] == "request_human"
