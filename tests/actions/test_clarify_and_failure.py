"""The clarification path: plausible "您是想问…" entries only, otherwise a focused question; the honest failure."""

from __future__ import annotations

from actions.cannot_help import ActionCannotHelp
from actions.clarify import GENERIC_QUESTION, ActionClarify, fuse_rankings, plausible_keys
from handoff.escalation import rules
from tests.actions.conftest import make_tracker


def ranking_for(*keys_and_confidences):
    return [
        {"name": "faq", "confidence": c, "intent_response_key": f"faq/{k}"}
        for k, c in keys_and_confidences
    ]


def answered(key: str):
    """Tracker events of an earlier turn that the bot answered with `key`."""
    return [
        {"event": "user", "text": "earlier"},
        {"event": "bot", "text": "answer", "data": {"custom": {"analytics": {"event": "bot_answer", "kb_key": key}}}},
        {"event": "user", "text": "now"},
    ]


def test_candidates_the_search_also_finds_are_offered_as_buttons(access, dispatcher, domain):
    entry = access.kb.get("refund_arrival_time")
    other = access.kb.get("shop_hours")
    tracker = make_tracker(
        "退款到账要几天", intent="nlu_fallback", ranking=ranking_for((entry.key, 0.31), (other.key, 0.29))
    )
    events = ActionClarify().run(dispatcher, tracker, domain)
    message, report = dispatcher.messages
    assert message["response"] == "utter_did_you_mean"
    analytics = report["custom"]["analytics"]
    assert analytics["event"] == "clarification" and entry.key in analytics["suggested"]
    # the classifier's second guess shares nothing with the message: not offered
    assert other.key not in analytics["suggested"]
    assert message["buttons"][0]["title"] == entry.question
    assert message["buttons"][-1] == {"title": "都不是", "payload": "/deny"}
    assert events[-1]["name"] == "failure_count" and events[-1]["value"] == 1.0


def test_classifier_guesses_without_search_support_are_not_offered(access, dispatcher, domain):
    a, b = (e.key for e in list(access.kb)[:2])
    tracker = make_tracker("嗯那个那个", intent="nlu_fallback", ranking=ranking_for((a, 0.31), (b, 0.29)))
    events = ActionClarify().run(dispatcher, tracker, domain)
    message, report = dispatcher.messages
    assert message["text"] == GENERIC_QUESTION
    assert message["buttons"] == [{"title": "转人工", "payload": "/handoff"}]
    assert report["custom"]["analytics"]["route"] == "ask"
    assert events[-1]["value"] == 1.0


def test_search_finds_candidates_the_classifier_missed(access, dispatcher, domain):
    entry = list(access.kb)[5]
    tracker = make_tracker(entry.paraphrases[0], intent="nlu_fallback", ranking=[])
    ActionClarify().run(dispatcher, tracker, domain)
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert '/faq{"faq_key":"%s"}' % entry.key in payloads


def test_at_most_the_configured_number_of_suggestions(access, dispatcher, domain):
    refund = [e.key for e in access.kb if e.category == "refund"][:6]
    tracker = make_tracker("退款", intent="nlu_fallback", ranking=ranking_for(*[(k, 0.25) for k in refund]))
    ActionClarify().run(dispatcher, tracker, domain)
    assert 1 < len(dispatcher.messages[0]["buttons"]) <= 3 + 1


def test_plausible_keys_need_the_search_or_a_sure_classifier():
    assert plausible_keys({"a": 0.3, "b": 0.25}, {"b": 0.12}, 0.5, 0.5, 3) == ["b"]
    assert plausible_keys({"a": 0.3}, {"c": 0.6}, 0.5, 0.5, 3) == ["c"]
    assert plausible_keys({"a": 0.3}, {"c": 0.4}, 0.5, 0.5, 3) == []
    assert plausible_keys({"a": 0.7}, {}, 0.5, 0.5, 3) == ["a"]


def test_an_unsure_order_problem_asks_which_order(dispatcher, domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "order_problem", "confidence": 0.45}]
    tracker = make_tracker("我那个单子还没动静啊", intent="nlu_fallback", ranking=ranking)
    events = ActionClarify().run(dispatcher, tracker, domain)
    assert events == [{"event": "followup", "timestamp": None, "name": "order_problem_form"}]
    assert dispatcher.messages == []


def test_an_unsure_product_question_goes_to_the_product_answer(dispatcher, domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "product_question", "confidence": 0.4}]
    tracker = make_tracker("这款能配那个用吗", intent="nlu_fallback", ranking=ranking)
    events = ActionClarify().run(dispatcher, tracker, domain)
    assert events == [{"event": "followup", "timestamp": None, "name": "action_product_question"}]


def test_a_short_follow_up_is_about_the_answer_just_given(access, dispatcher, domain):
    tracker = make_tracker("怎么修改呢", intent="nlu_fallback", events=answered("invoice_change_title"))
    ActionClarify().run(dispatcher, tracker, domain)
    answer, report = dispatcher.messages
    assert answer["text"] == access.kb.get("invoice_change_title").answer
    assert report["custom"]["analytics"]["kb_key"] == "invoice_change_title"


def test_a_long_message_is_not_taken_for_a_follow_up(dispatcher, domain):
    text = "怎么我的那个东西到现在都还没有人来处理一下啊"
    tracker = make_tracker(text, intent="nlu_fallback", events=answered("invoice_change_title"))
    ActionClarify().run(dispatcher, tracker, domain)
    assert "invoice_change_title" not in str(dispatcher.messages)


def test_the_last_allowed_failure_in_a_row_goes_to_a_person(dispatcher, domain):
    before_last = float(rules().max_failures - 1)
    tracker = make_tracker("嗯那个那个", intent="nlu_fallback", slots={"failure_count": before_last})
    ActionClarify().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["custom"]["handoff"]["reason"] == "repeated_failure"


def test_out_of_scope_counts_a_failure(access, dispatcher, domain):
    events = ActionCannotHelp().run(dispatcher, make_tracker("今天天气怎么样", intent="out_of_scope"), domain)
    assert dispatcher.messages[0]["response"] == "utter_cannot_help"
    assert dispatcher.messages[1]["text"] == access.contact_text()
    assert events == [{"event": "slot", "timestamp": None, "name": "failure_count", "value": 1.0}]


def test_fusion_prefers_keys_both_rankings_agree_on():
    assert fuse_rankings(["a", "b", "c"], ["c", "d"])[0] == "c"
    assert fuse_rankings(["a"], []) == ["a"]
    assert fuse_rankings([], []) == []
