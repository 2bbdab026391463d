"""action_answer_faq: the right knowledge-base answer for the intent and the entities."""

from __future__ import annotations

from actions.answer_faq import ActionAnswerFaq
from actions.order_tasks import vocabulary
from tests.actions.conftest import entity, make_tracker


def run(dispatcher, domain, tracker):
    return ActionAnswerFaq().run(dispatcher, tracker, domain)


def entry_with_variant(access, entity_name):
    """An entry with an answer variant for the entity that the bot answers itself (not an order task's entry:
    with an order number those look the order up, tests/actions/test_order_self_service.py)."""
    return next(e for e in access.kb
                if any(v.when == (entity_name,) for v in e.variants) and not vocabulary().task_for_faq(e.key))


def test_answers_the_entry_the_response_selector_chose(access, dispatcher, domain):
    entry = next(iter(access.kb))
    events = run(dispatcher, domain, make_tracker("随便问问", faq_key=entry.key))
    assert dispatcher.messages[0]["text"] == entry.answer
    assert {"event": "slot", "name": "failure_count", "value": 0.0} in [
        {k: e[k] for k in ("event", "name", "value")} for e in events
    ]


def test_a_button_choice_wins_over_the_classifier(access, dispatcher, domain):
    first, second = list(access.kb)[:2]
    tracker = make_tracker(
        '/faq{"faq_key":"%s"}' % second.key,
        faq_key=first.key,
        entities=[entity("faq_key", second.key)],
    )
    run(dispatcher, domain, tracker)
    assert dispatcher.messages[0]["text"] == second.answer


def test_the_order_number_in_the_message_is_used(access, dispatcher, domain):
    entry = entry_with_variant(access, "order_number")
    tracker = make_tracker(
        "订单2024061812345678这个怎么弄",
        faq_key=entry.key,
        entities=[entity("order_number", "2024061812345678")],
    )
    run(dispatcher, domain, tracker)
    text = dispatcher.messages[0]["text"]
    assert "2024061812345678" in text
    assert text != entry.answer


def test_an_order_number_given_earlier_is_remembered(access, dispatcher, domain):
    entry = entry_with_variant(access, "order_number")
    tracker = make_tracker("那它呢", faq_key=entry.key, slots={"order_number": "2025010112345678"})
    run(dispatcher, domain, tracker)
    assert "2025010112345678" in dispatcher.messages[0]["text"]


def test_follow_ups_become_buttons_that_name_the_entry(access, dispatcher, domain):
    entry = next(e for e in access.kb if e.follow_ups)
    run(dispatcher, domain, make_tracker("问题", faq_key=entry.key))
    buttons = dispatcher.messages[0]["buttons"]
    assert [b["title"] for b in buttons] == [access.kb.get(k).question for k in entry.follow_ups]
    assert buttons[0]["payload"] == '/faq{"faq_key":"%s"}' % entry.follow_ups[0]


def test_an_unknown_key_is_an_honest_failure_not_a_made_up_answer(access, dispatcher, domain):
    tracker = make_tracker("问题", faq_key="no_such_entry")
    events = run(dispatcher, domain, tracker)
    assert dispatcher.messages[0]["response"] == "utter_cannot_help"
    assert dispatcher.messages[1]["text"] == access.contact_text()
    assert events[-1]["value"] == 1.0
