"""Rasa's action step without the tracker copy for actions that only read (bot/rasa_speedups.py, item 11): the shop's
real conversations, through rasa.core.agent.Agent with the actions in this process and the product's tracker store,
end with the same events and the same replies as with Rasa's own step, while the conversation is replayed for a copy
only where a policy attached events to its prediction or the action may change the tracker it is given (forms and
Rasa's default actions)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.actions.action import ActionExecutionRejection, action_for_name_or_text
from rasa.core.agent import Agent
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    SlotSet,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_speedups
from tests.shop_agent import ended_conversations, shop_agent, talk

RASA_RUN_ACTION = rasa_speedups._original_run_action
READ_ONLY = rasa_speedups._READ_ONLY_ACTIONS


@pytest.fixture(scope="module")
def shop(request, tmp_path_factory) -> Iterator[Agent]:
    """The shop's agent (tests/shop_agent.py)."""
    with shop_agent(request, tmp_path_factory.mktemp("run_action")) as agent:
        yield agent


class _CopiesByAction:
    """Which actions Rasa's action step copied the tracker for, and whether a lent tracker was left changed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, run_action: Any) -> None:
        self.copied: List[str] = []
        # per step: the action, and whether Rasa's step must still copy (the prediction brings events, or the
        # action may change the tracker it is given)
        self.steps: List[tuple] = []
        self.left_patched = 0
        # read-only steps whose prediction brought only the rule policy's featurization notes
        self.with_notes = 0
        copy = DialogueStateTracker.copy
        current: Dict[str, str] = {}

        def counted_copy(tracker: DialogueStateTracker) -> DialogueStateTracker:
            if current:
                self.copied.append(current["action"])
                current.clear()  # only the step's own first copy
            return copy(tracker)

        async def step(processor, action, tracker, output_channel, nlg, prediction):  # noqa: ANN001
            notes_only = all(isinstance(event, DefinePrevUserUtteredFeaturization) for event in prediction.events)
            self.steps.append((action.name(), not notes_only or type(action) not in READ_ONLY))
            self.with_notes += bool(prediction.events) and notes_only and type(action) in READ_ONLY
            current["action"] = action.name()
            try:
                return await run_action(processor, action, tracker, output_channel, nlg, prediction)
            finally:
                current.clear()
                self.left_patched += "copy" in vars(tracker) or "run" in vars(action)

        monkeypatch.setattr(DialogueStateTracker, "copy", counted_copy)
        monkeypatch.setattr(MessageProcessor, "_run_action", step)

    @property
    def ran(self) -> List[str]:
        """The actions the step ran, in order."""
        return [name for name, _must_copy in self.steps]


def test_conversations_end_as_with_rasa_s_step_and_only_forms_and_default_actions_get_a_copy(shop, monkeypatch):
    agent = shop
    with monkeypatch.context() as rasa_step:
        rasa = _CopiesByAction(rasa_step, RASA_RUN_ACTION)
        expected = ended_conversations(agent, "rasa")
    kept = _CopiesByAction(monkeypatch, rasa_speedups.run_action_on_tracker_when_read_only)
    got = ended_conversations(agent, "kept")

    assert got == expected
    replies = [event for events in got.values() for event in events if event.get("event") == BotUttered.type_name]
    assert len(replies) > 40
    # Rasa's step copies for every action; this one only where a policy's events come with the prediction, and for
    # forms and Rasa's other default actions
    assert rasa.copied == rasa.ran and len(rasa.ran) > 100
    assert kept.steps == rasa.steps
    assert kept.copied == [name for name, must_copy in kept.steps if must_copy]
    assert {"order_problem_form", "action_restart"} <= set(kept.copied)
    # the listening after each reply, at least, is not copied
    assert kept.ran.count(ACTION_LISTEN_NAME) > 40 and ACTION_LISTEN_NAME not in kept.copied
    # the answers the rules pick come with a featurization note: lent the tracker too
    assert kept.with_notes > 20 and "action_answer_faq" not in kept.copied
    assert len(kept.copied) < 0.3 * len(kept.ran)
    assert kept.left_patched == 0 and rasa.left_patched == 0


def test_a_prediction_with_events_still_copies_the_tracker(shop, monkeypatch):
    """A policy may attach events to its prediction; the copy keeps them off the tracker if the action is rejected."""
    agent = shop
    kept = _CopiesByAction(monkeypatch, rasa_speedups.run_action_on_tracker_when_read_only)
    tracker = asyncio.run(talk(agent, "prediction-events", ["你好"]))
    kept.copied.clear()
    listen = action_for_name_or_text(ACTION_LISTEN_NAME, agent.domain, None)
    prediction = PolicyPrediction([], "test", events=[SlotSet("failure_count", 1)])
    asyncio.run(agent.processor._run_action(listen, tracker, None, agent.processor.nlg, prediction))
    assert kept.copied == [ACTION_LISTEN_NAME]
    assert isinstance(tracker.events[-1], ActionExecuted) and tracker.get_slot("failure_count") == 1


def test_a_rejected_action_leaves_no_featurization_note_on_the_lent_tracker(shop, monkeypatch):
    """With the tracker lent instead of copied, the rule policy's note is applied for the action's run and taken off
    when the action is rejected, as Rasa's dropped copy would have it."""
    agent = shop
    kept = _CopiesByAction(monkeypatch, rasa_speedups.run_action_on_tracker_when_read_only)
    tracker = asyncio.run(talk(agent, "rejected-with-note", ["你好"]))
    # as after a customer message: the note applies to the message just read
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    before = list(tracker.events)
    flag = tracker.latest_message.use_text_for_featurization
    kept.copied.clear()
    seen = []

    class Rejecting(type(action_for_name_or_text("action_answer_faq", agent.domain, agent.action_endpoint))):
        async def run(self, output_channel, nlg, lent, domain):  # noqa: ANN001
            featurized = lent.latest_message.use_text_for_featurization
            seen.append((lent is tracker, type(lent.events[-1]).__name__, featurized))
            raise ActionExecutionRejection(self.name())

    monkeypatch.setattr(rasa_speedups, "_READ_ONLY_ACTIONS", (*READ_ONLY, Rejecting))
    action = Rejecting("action_answer_faq", agent.action_endpoint)
    note = DefinePrevUserUtteredFeaturization(use_text_for_featurization=not flag)
    prediction = PolicyPrediction([], "RulePolicy", events=[note])
    asyncio.run(agent.processor._run_action(action, tracker, None, agent.processor.nlg, prediction))
    # the action saw the note applied to the tracker itself; afterwards only Rasa's rejection was added
    assert seen == [(True, "DefinePrevUserUtteredFeaturization", not flag)] and kept.copied == []
    assert list(tracker.events)[:-1] == before and isinstance(tracker.events[-1], ActionExecutionRejected)
    assert tracker.latest_message.use_text_for_featurization == flag and "run" not in vars(action)
