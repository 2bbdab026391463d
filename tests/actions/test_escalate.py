"""The actions' side of escalation: what they hand to the gateway, and when."""

from __future__ import annotations

from actions.answer_faq import ActionAnswerFaq
from actions.cannot_help import ActionCannotHelp
from actions.clarify import ActionClarify
from actions.escalate import ActionEscalate
from handoff.escalation import rules
from tests.actions.conftest import make_tracker

# failures before the one that hands over (settings.yml: escalation.max_failures)
BEFORE_LAST = float(rules().max_failures - 1)


def handoff_of(dispatcher):
    [message] = dispatcher.messages
    assert message.get("text") is None, "the gateway, not the action, tells the customer"
    return message["custom"]["handoff"]


def test_a_request_for_a_person_is_handed_over_at_once(dispatcher, domain):
    events = ActionEscalate().run(dispatcher, make_tracker("转人工", intent="request_human"), domain)
    handoff = handoff_of(dispatcher)
    assert handoff["reason"] == "request_human" and handoff["priority"] == 10
    assert events == [{"event": "slot", "timestamp": None, "name": "failure_count", "value": 0.0}]


def test_a_complaint_says_what_matched(dispatcher, domain):
    ActionEscalate().run(dispatcher, make_tracker("你们就是骗子！！！", intent="complaint"), domain)
    handoff = handoff_of(dispatcher)
    assert handoff["reason"] == "complaint" and "投诉意图" in handoff["detail"] and "骗子" in handoff["detail"]


def test_a_legal_threat_is_a_sensitive_topic(dispatcher, domain):
    ActionEscalate().run(dispatcher, make_tracker("我要起诉你们", intent="legal_threat"), domain)
    assert handoff_of(dispatcher)["reason"] == "sensitive_topic"


def test_a_frozen_account_is_never_answered_by_the_bot(dispatcher, domain):
    tracker = make_tracker("我的账号被冻结了", faq_key="account_frozen")
    ActionAnswerFaq().run(dispatcher, tracker, domain)
    handoff = handoff_of(dispatcher)
    assert handoff["reason"] == "sensitive_topic" and "faq/account_frozen" in handoff["detail"]


def test_an_ordinary_question_is_still_answered(access, dispatcher, domain):
    ActionAnswerFaq().run(dispatcher, make_tracker("退款多久到账", faq_key="refund_arrival_time"), domain)
    assert dispatcher.messages[0]["text"] == access.kb.get("refund_arrival_time").answer
    analytics = dispatcher.messages[1]["custom"]["analytics"]
    assert (analytics["event"], analytics["kb_key"]) == ("bot_answer", "refund_arrival_time")
    # the reading comes from Rasa's gateway channel; the report does not grow the tracker with it
    assert "parse" not in analytics


def test_the_last_allowed_failure_in_a_row_goes_to_a_person(access, dispatcher, domain):
    key = next(iter(access.kb)).key
    ranking = [{"name": "faq", "confidence": 0.3, "intent_response_key": f"faq/{key}"}]
    tracker = make_tracker("嗯那个", intent="nlu_fallback", ranking=ranking, slots={"failure_count": BEFORE_LAST})
    events = ActionClarify().run(dispatcher, tracker, domain)
    handoff = handoff_of(dispatcher)
    assert handoff["reason"] == "repeated_failure" and str(rules().max_failures) in handoff["detail"]
    assert events[-1]["value"] == 0.0


def test_out_of_scope_after_a_failure_goes_to_a_person(dispatcher, domain):
    tracker = make_tracker("今天天气怎么样", intent="out_of_scope", slots={"failure_count": BEFORE_LAST})
    ActionCannotHelp().run(dispatcher, tracker, domain)
    assert handoff_of(dispatcher)["reason"] == "repeated_failure"
