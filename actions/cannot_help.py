"""Says honestly that the bot cannot help, and how to reach a person."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FAILURE_SLOT, failure_count, report
from actions.knowledge_access import KnowledgeAccess, knowledge_access


def say_cannot_help(
    dispatcher: CollectingDispatcher, tracker: Tracker, access: KnowledgeAccess
) -> List[EventType]:
    """The honest failure: an apology, the shop's contact channels, one more failure counted;
    or, after too many failures in a row, a person (settings.yml: escalation.max_failures)."""
    from actions.escalate import escalation_for_failure, hand_over

    decision = escalation_for_failure(tracker)
    if decision:
        return hand_over(dispatcher, tracker, decision)
    dispatcher.utter_message(response="utter_cannot_help")
    contact = access.contact_text()
    if contact:
        dispatcher.utter_message(text=contact)
    report(dispatcher, tracker, "fallback")
    return [SlotSet(FAILURE_SLOT, float(failure_count(tracker) + 1))]


class ActionCannotHelp(Action):
    """For questions outside the shop's service, and when no suggestion fitted."""

    def name(self) -> str:
        return "action_cannot_help"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        return say_cannot_help(dispatcher, tracker, knowledge_access())
