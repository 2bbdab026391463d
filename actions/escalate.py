"""Hands the conversation to a person: the rules of handoff/escalation.py applied to the bot's reading.

The action does not tell the customer anything itself: it returns a `handoff`
request (reason, detail, priority) as a custom message. The gateway writes the
ticket first, with the stored conversation and the bot's reading of each
message, then tells the customer honestly what happens next (queue position,
or leaving a message outside business hours).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FAILURE_SLOT, FAQ_INTENT, chosen_faq_key, failure_count
from handoff.escalation import BOT_SIDE_RULES, Escalation, Turn, rules


def full_intent(tracker: Tracker) -> Optional[str]:
    """The intent of the latest message, with the FAQ entry for FAQ questions ("faq/refund_progress")."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == FAQ_INTENT:
        key = chosen_faq_key(tracker)
        return f"{FAQ_INTENT}/{key}" if key else intent
    return intent


def current_turn(tracker: Tracker, failed: bool = False) -> Turn:
    """The rules' view of the latest message."""
    return Turn(
        text=tracker.latest_message.get("text") or "",
        intent=full_intent(tracker),
        failures_before=failure_count(tracker),
        failed=failed,
        tier=((tracker.latest_message.get("metadata") or {}).get("tier")),
    )


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, decision: Escalation) -> List[EventType]:
    """Asks the gateway to open a ticket; the failure count starts again."""
    dispatcher.utter_message(json_message={"handoff": decision.to_json()})
    return [SlotSet(FAILURE_SLOT, 0.0)]


def escalation_for_failure(tracker: Tracker) -> Optional[Escalation]:
    """Rule 2 for a turn the bot could not help with."""
    return rules().repeated_failure(current_turn(tracker, failed=True))


class ActionEscalate(Action):
    """For requests for a person, complaints and sensitive topics."""

    def name(self) -> str:
        return "action_escalate"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        turn = current_turn(tracker)
        decision = rules().first_match(turn, BOT_SIDE_RULES)
        if decision is None:
            # a rule sent us here (e.g. an intent added to the rules but not to settings.yml): still a person
            decision = Escalation("request_human", f"意图 {turn.intent}", rules().priorities["request_human"])
        return hand_over(dispatcher, tracker, decision)
