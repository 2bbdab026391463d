"""RulePolicy with kept prediction states and indexed rules (bot/rasa_rule_states.py) against Rasa's own, prediction
by prediction, in real conversations with the shop's model: every prediction (action, probabilities and every
PolicyPrediction field, and the rule that made it) and the states of both passes are Rasa's. The conversations run
through rasa.core.agent.Agent with the actions in this process and the product's tracker store (the same tracker
object from message to message, as in production), and one with Rasa's in-memory store (a new tracker per message);
they take the order form (asked, answered, left), the "did you mean" fallbacks, /restart, /session_start and /back.
The cases that never arise in these conversations (a user message's featurization changed after a state used it,
rules of equal length both applying, the cache's bounds) are built by hand."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, SHOULD_NOT_BE_SET
from rasa.shared.core.events import (
    ActionExecuted,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_rule_states
from tests.shop_agent import CONVERSATIONS, knowledge_base_questions, shop_agent, talk

ROOT = Path(__file__).resolve().parents[1]
RASA_PREDICT = RulePolicy._predict


@pytest.fixture(scope="module")
def shop(request, tmp_path_factory) -> Iterator[Tuple[Agent, RulePolicy]]:
    """The shop's agent (tests/shop_agent.py) and its RulePolicy."""
    with shop_agent(request, tmp_path_factory.mktemp("rule_states")) as agent:
        policy = next(node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
                      if isinstance(node._component, RulePolicy))
        yield agent, policy


def _rasa(function):
    """Runs `function` with Rasa's own RulePolicy methods in place of the patched ones."""
    patched = RulePolicy._prediction_states, RulePolicy._get_possible_keys
    RulePolicy._prediction_states = rasa_rule_states._original_prediction_states
    RulePolicy._get_possible_keys = rasa_rule_states._original_get_possible_keys
    try:
        return function()
    finally:
        RulePolicy._prediction_states, RulePolicy._get_possible_keys = patched


class _Comparison:
    """Every RulePolicy prediction made twice, by Rasa's code and by the patched one; the patched one is used."""

    def __init__(self) -> None:
        self.predictions = 0
        self.differences: List[str] = []

    def predict(self, policy: RulePolicy, tracker: DialogueStateTracker, domain: Any) -> Any:
        rule_only = policy._get_rule_only_data()
        expected = _rasa(lambda: RASA_PREDICT(policy, tracker, domain))
        expected_states = _rasa(lambda: [policy._prediction_states(tracker, domain, text, rule_only)
                                         for text in (True, False)])
        got = RASA_PREDICT(policy, tracker, domain)
        got_states = [policy._prediction_states(tracker, domain, text, rule_only) for text in (True, False)]
        self.predictions += 1
        where = f"{tracker.sender_id}, event {len(tracker.events)}"
        if vars(got[0]) != vars(expected[0]) or got[1] != expected[1]:
            self.differences.append(f"{where}: {vars(got[0])} {got[1]!r} != Rasa's {vars(expected[0])} {expected[1]!r}")
        if got_states != expected_states:
            self.differences.append(f"{where}: states {got_states} != Rasa's {expected_states}")
        return got


def _count_replays(monkeypatch) -> Dict[str, int]:
    """Counts the state computations of a fresh cache: full replays, and those that went on from kept states."""
    monkeypatch.setattr(rasa_rule_states, "_kept", rasa_rule_states._PriorStates())
    replays = {"full": 0, "continued": 0}
    replay_all, continue_ = rasa_rule_states._replay_all, rasa_rule_states._continue

    def counted_replay(*args):
        replays["full"] += 1
        return replay_all(*args)

    def counted_continue(*args):
        went_on = continue_(*args)
        replays["continued"] += went_on
        return went_on

    monkeypatch.setattr(rasa_rule_states, "_replay_all", counted_replay)
    monkeypatch.setattr(rasa_rule_states, "_continue", counted_continue)
    return replays


@pytest.fixture
def compared(monkeypatch) -> _Comparison:
    """RulePolicy with this module's methods installed, each prediction compared with Rasa's; replays counted."""
    comparison = _Comparison()
    monkeypatch.setattr(RulePolicy, "_prediction_states", RulePolicy._prediction_states)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    rasa_rule_states.install()
    assert RulePolicy._prediction_states is rasa_rule_states.prediction_states_from_kept
    assert RulePolicy._get_possible_keys is rasa_rule_states.indexed_possible_keys
    monkeypatch.setattr(RulePolicy, "_predict", lambda self, tracker, domain: comparison.predict(self, tracker, domain))
    comparison.replays = _count_replays(monkeypatch)
    return comparison


def test_every_prediction_in_real_conversations_is_rasa_s(shop, compared):
    agent, _ = shop
    actions = set()
    for sender, texts in {**CONVERSATIONS, "thirty-questions": knowledge_base_questions(30)}.items():
        tracker = asyncio.run(talk(agent, sender, texts))
        actions |= {event.action_name for event in tracker.events if isinstance(event, ActionExecuted)}
    assert compared.differences == []
    assert compared.predictions > 120
    # the conversations took the paths that break a simple replay: a form's loop, leaving it, restarts, rewinds
    assert {"order_problem_form", "action_deactivate_loop", "action_clarify", "action_cannot_help",
            "action_restart", "action_session_start", "action_back", "action_answer_faq"} <= actions
    # and most state computations went on from the kept states (a restart, a rewind or the form's next step
    # replays the conversation in full)
    replays = compared.replays
    assert replays["continued"] > 10 * replays["full"], replays


def test_a_tracker_read_anew_for_each_message_gets_rasa_s_predictions(shop, compared, monkeypatch):
    agent, _ = shop
    store = InMemoryTrackerStore(agent.domain)
    monkeypatch.setattr(agent, "tracker_store", store)
    monkeypatch.setattr(agent.processor, "tracker_store", store)
    texts = CONVERSATIONS["order-form"] + knowledge_base_questions(6)
    asyncio.run(talk(agent, "in-memory", texts))
    assert compared.differences == []
    assert compared.predictions > 20
    # a new tracker for each message: replayed in full at its first prediction, then went on from there
    replays = compared.replays
    assert len(texts) <= replays["full"] < replays["continued"], replays


def _states(policy: RulePolicy, tracker: DialogueStateTracker, domain: Any, rasa: bool) -> List[List[Dict]]:
    rule_only = policy._get_rule_only_data()
    if rasa:
        return [rasa_rule_states._original_prediction_states(policy, tracker, domain, text, rule_only)
                for text in (True, False)]
    return [rasa_rule_states.prediction_states_from_kept(policy, tracker, domain, text, rule_only)
            for text in (True, False)]


@pytest.mark.parametrize("change", [DefinePrevUserUtteredFeaturization(True),
                                    EntitiesAdded([{"entity": "order_number", "value": "2026120112345678"}])])
def test_a_change_to_a_user_message_an_earlier_state_used_replays_the_conversation(shop, monkeypatch, change):
    _, policy = shop
    domain = shop[0].domain
    monkeypatch.setattr(rasa_rule_states, "_kept", rasa_rule_states._PriorStates())
    tracker = DialogueStateTracker("changed-message", domain.slots)
    for event in [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("你好", {"name": "greet", "confidence": 1.0}),
                  ActionExecuted(ACTION_LISTEN_NAME)]:
        tracker.update(event)
    before = _states(policy, tracker, domain, rasa=False)
    assert before == _states(policy, tracker, domain, rasa=True)
    tracker.update(change)
    rasa = _states(policy, tracker, domain, rasa=True)
    # the kept state of the step after the message is no longer what Rasa computes now
    assert before[1][1] != rasa[1][1]
    assert _states(policy, tracker, domain, rasa=False) == rasa


def test_another_tracker_object_of_the_conversation_is_replayed_in_full(shop, monkeypatch):
    agent, policy = shop
    domain = agent.domain
    replays = _count_replays(monkeypatch)
    events = [ActionExecuted(ACTION_LISTEN_NAME), UserUttered("谢谢", {"name": "thank", "confidence": 1.0}),
              ActionExecuted("utter_thank"), ActionExecuted(ACTION_LISTEN_NAME)]
    first = DialogueStateTracker.from_events("same-sender", events, domain.slots)
    assert _states(policy, first, domain, rasa=False) == _states(policy, first, domain, rasa=True)
    first.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}))
    assert _states(policy, first, domain, rasa=False) == _states(policy, first, domain, rasa=True)
    assert replays == {"full": 1, "continued": 3}
    # the same events in another tracker (a copy, say): not continued from the first one's replay
    other = DialogueStateTracker.from_events("same-sender", list(first.events), domain.slots)
    assert _states(policy, other, domain, rasa=False) == _states(policy, other, domain, rasa=True)
    assert replays == {"full": 2, "continued": 4}


def test_the_kept_states_are_bounded(shop):
    agent, _ = shop
    domain = agent.domain
    kept = rasa_rule_states._PriorStates(conversations=3, states=10)
    trackers = []
    for number in range(5):
        tracker = DialogueStateTracker(f"bounded-{number}", domain.slots)
        for _ in range(2):
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
            tracker.update(UserUttered("你好", {"name": "greet", "confidence": 1.0}))
            tracker.update(ActionExecuted("utter_greet"))
            tracker.update(SlotSet("failure_count", 0.0))
        kept.states(tracker, domain)
        trackers.append(tracker)
        assert len(kept) <= 3 and kept.kept_states() <= 10
    assert len(kept) == 2 and kept.kept_states() == 8  # 4 settled states each; a third would make 12
    long = DialogueStateTracker("long", domain.slots)
    for _ in range(11):
        long.update(ActionExecuted("utter_greet"))
    settled, _ = kept.states(long, domain)
    assert len(settled) == 11 and len(kept) == 2, "a conversation longer than the bound is not kept"
    # a conversation whose tracker is gone (the tracker store let it go) is forgotten with it
    del trackers[-1], tracker
    gc.collect()
    kept.states(long, domain)
    assert len(kept) == 1 and kept.kept_states() == 4


def _key(states: List[Dict], pad: str = "") -> str:
    text = json.dumps(states)
    return text[0] + pad + text[1:]


def test_equally_long_applicable_rules_give_rasa_s_set_in_rasa_s_order(shop, monkeypatch):
    _, policy = shop
    greet = [{"prev_action": {"action_name": ACTION_LISTEN_NAME}, "user": {"intent": "greet"}}]
    thank = [{"prev_action": {"action_name": ACTION_LISTEN_NAME}, "user": {"intent": "thank"}}]
    # two keys of the same length that both apply (the same rule, spaced differently), and a longer one that doesn't
    lookup = {_key(greet, " "): "utter_greet", json.dumps(greet) + " ": "utter_thank",
              _key(thank, "    "): "utter_thank"}
    states = [{"prev_action": {"action_name": ACTION_LISTEN_NAME}, "user": {"intent": "greet"}}]
    calls = []
    original = rasa_rule_states._original_get_possible_keys
    monkeypatch.setattr(rasa_rule_states, "_original_get_possible_keys",
                        lambda *args: (calls.append(1), original(*args))[1])
    got = rasa_rule_states.indexed_possible_keys(policy, lookup, states)
    assert calls == [1], "a tie among the longest keys should be answered by Rasa's own code"
    assert list(got) == list(original(policy, lookup, states)) and len(got) == 2
    # one longest key: the index's answer
    unique = {json.dumps(greet): "utter_greet", _key(greet, "  "): "utter_thank"}
    assert rasa_rule_states.indexed_possible_keys(policy, unique, states) == original(policy, unique, states)
    assert calls == [1]


def test_the_index_leaves_out_only_rules_rasa_refuses_at_the_last_state(shop):
    _, policy = shop
    lookups = [policy.lookup["rules"], policy.lookup["rules_for_loop_unhappy_path"]]
    actions = sorted({json.loads(key)[-1].get("prev_action", {}).get("action_name") or "" for key in lookups[0]})
    intents = sorted({json.loads(key)[-1].get("user", {}).get("intent") or "" for key in lookups[0]})
    last_states = [{}, {"user": {"text": "你好"}}, {"prev_action": {"action_text": "您好"}},
                   {"prev_action": {"action_name": SHOULD_NOT_BE_SET}, "user": {"intent": SHOULD_NOT_BE_SET}}]
    last_states += [{"prev_action": {"action_name": action}, "user": {"intent": intent}, "active_loop": {"name": "x"}}
                    for action in actions + ["unknown"] for intent in intents + ["unknown"]]
    last_states += [{"prev_action": {"action_name": action}, "user": {"text": "好"}} for action in actions]
    left_out = 0
    for lookup in lookups:
        index = rasa_rule_states._rule_index(policy, lookup)
        for state in last_states:
            candidates = set(index.candidates(state))
            for key in set(lookup) - candidates:
                assert not policy._is_rule_applicable(key, 0, state), (key, state)
                left_out += 1
    assert left_out > len(last_states) * 40, "the index should leave out most rules"
