"""Rasa's calls to the action server, configured as bot/rasa_endpoints.py writes them: without the domain (no custom
action reads it), and with earlier customer messages without their rankings (bot/rasa_speedups.py, item 12); the
shop's conversations, the order form among them, end as with the whole call."""

from __future__ import annotations

import asyncio
from typing import Iterator

import orjson
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered

from bot import rasa_speedups
from tests.shop_agent import CONVERSATIONS, ended_conversations, shop_agent, talk


@pytest.fixture(scope="module")
def shop(request, tmp_path_factory) -> Iterator[Agent]:
    with shop_agent(request, tmp_path_factory.mktemp("action_endpoint")) as agent:
        yield agent


def test_no_custom_action_is_sent_the_domain_and_the_order_form_still_runs(shop):
    endpoint = shop.action_endpoint
    assert endpoint.kwargs.get("enable_selective_domain") is True
    custom = [name for name in shop.domain.user_actions if not name.startswith("utter_")]
    assert not [name for name in custom if shop.domain.does_custom_action_explicitly_need_domain(name)]
    endpoint.calls.clear()
    tracker = asyncio.run(talk(shop, "no-domain", CONVERSATIONS["order-form"] + ["退款多久到账"]))
    called = {call["next_action"] for call in endpoint.calls}
    assert {"validate_order_problem_form", "action_answer_faq"} <= called
    assert all("domain" not in call for call in endpoint.calls)
    # the form asked for the order, took it and went on as with the domain
    actions = [event.action_name for event in tracker.events if isinstance(event, ActionExecuted)]
    assert "order_problem_form" in actions and "action_answer_faq" in actions
    assert any(isinstance(event, SlotSet) and event.key == "order_number" and event.value == "2026120112345678"
               for event in tracker.events)


def test_earlier_messages_go_without_their_rankings_and_the_conversations_end_the_same(shop, monkeypatch):
    endpoint = shop.action_endpoint
    monkeypatch.setattr(RemoteAction, "_action_call_format", rasa_speedups._original_action_call_format)
    endpoint.calls.clear()
    expected = ended_conversations(shop, "whole")
    whole = [orjson.dumps(call) for call in endpoint.calls]
    monkeypatch.setattr(RemoteAction, "_action_call_format", rasa_speedups.action_call_without_earlier_rankings)
    endpoint.calls.clear()
    got = ended_conversations(shop, "trimmed")
    trimmed = [orjson.dumps(call) for call in endpoint.calls]

    assert got == expected
    assert len(trimmed) == len(whole) > 30
    assert sum(map(len, trimmed)) < 0.8 * sum(map(len, whole))
    for call in endpoint.calls:
        users = [event for event in call["tracker"]["events"] if event["event"] == "user"]
        assert all(not set(rasa_speedups.EARLIER_MESSAGE_DETAIL) & set(event["parse_data"]) for event in users[:-1])
        # the newest message, and the latest message the actions read, are whole
        assert "intent_ranking" in users[-1]["parse_data"]
        assert "intent_ranking" in call["tracker"]["latest_message"]
    # the tracker's own events keep everything
    tracker = asyncio.run(shop.tracker_store.retrieve("trimmed-ten-questions"))
    assert all("intent_ranking" in event.parse_data for event in tracker.events if isinstance(event, UserUttered))
