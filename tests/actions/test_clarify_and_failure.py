"""The clarification path ("您是想问…") and the honest failure path."""

from __future__ import annotations

from actions.cannot_help import ActionCannotHelp
from actions.clarify import ActionClarify, fuse_rankings
from tests.actions.conftest import make_tracker


def ranking_for(*keys_and_confidences):
    return [
        {"name": "faq", "confidence": c, "intent_response_key": f"faq/{k}"}
        for k, c in keys_and_confidences
    ]


def test_unsure_classifier_offers_its_candidates_as_buttons(access, dispatcher, domain):
    a, b = (e.key for e in list(access.kb)[:2])
    tracker = make_tracker(
        "嗯那个那个", intent="nlu_fallback", ranking=ranking_for((a, 0.31), (b, 0.29))
    )
    events = ActionClarify().run(dispatcher, tracker, domain)
    message, report = dispatcher.messages
    assert message["response"] == "utter_did_you_mean"
    analytics = report["custom"]["analytics"]
    assert (analytics["event"], analytics["suggested"]) == ("clarification", [a, b])
    assert analytics["parse"]["intent"] == {"name": "nlu_fallback", "confidence": 0.9}
    titles = [button["title"] for button in message["buttons"]]
    assert titles[:2] == [access.kb.get(a).question, access.kb.get(b).question]
    assert message["buttons"][-1] == {"title": "都不是", "payload": "/deny"}
    assert events[-1]["name"] == "failure_count" and events[-1]["value"] == 1.0


def test_search_finds_candidates_the_classifier_missed(access, dispatcher, domain):
    entry = list(access.kb)[5]
    tracker = make_tracker(entry.paraphrases[0], intent="nlu_fallback", ranking=[])
    ActionClarify().run(dispatcher, tracker, domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert '/faq{"faq_key":"%s"}' % entry.key in payloads


def test_at_most_the_configured_number_of_suggestions(access, dispatcher, domain):
    keys = [e.key for e in list(access.kb)[:6]]
    tracker = make_tracker("退款", intent="nlu_fallback", ranking=ranking_for(*[(k, 0.15) for k in keys]))
    ActionClarify().run(dispatcher, tracker, domain)
    assert len(dispatcher.messages[0]["buttons"]) == 3 + 1


def test_nothing_close_is_an_honest_failure_with_contacts(access, dispatcher, domain):
    tracker = make_tracker("🙂🙂🙂", intent="nlu_fallback", ranking=[])
    events = ActionClarify().run(dispatcher, tracker, domain)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_cannot_help", None, None]
    assert dispatcher.messages[2]["custom"]["analytics"]["event"] == "fallback"
    assert dispatcher.messages[1]["text"] == access.contact_text()
    assert events[-1]["value"] == 1.0


def test_low_confidence_candidates_are_not_offered(access, dispatcher, domain):
    key = next(iter(access.kb)).key
    tracker = make_tracker("🙂", intent="nlu_fallback", ranking=ranking_for((key, 0.01)))
    ActionClarify().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_cannot_help"


def test_out_of_scope_counts_a_failure(access, dispatcher, domain):
    events = ActionCannotHelp().run(dispatcher, make_tracker("今天天气怎么样", intent="out_of_scope"), domain)
    assert dispatcher.messages[0]["response"] == "utter_cannot_help"
    assert events == [{"event": "slot", "timestamp": None, "name": "failure_count", "value": 1.0}]


def test_fusion_prefers_keys_both_rankings_agree_on():
    assert fuse_rankings(["a", "b", "c"], ["c", "d"])[0] == "c"
    assert fuse_rankings(["a"], []) == ["a"]
    assert fuse_rankings([], []) == []
