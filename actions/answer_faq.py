"""Answers the customer's question from the knowledge base."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cannot_help import say_cannot_help
from actions.conversation import FAILURE_SLOT, chosen_faq_key, faq_button, known_entities, report
from actions.escalate import current_turn, hand_over
from actions.knowledge_access import knowledge_access
from handoff.escalation import rules

logger = logging.getLogger(__name__)


class ActionAnswerFaq(Action):
    """Sends the entry's answer (using the customer's order number etc. where it can) and its follow-ups."""

    def name(self) -> str:
        return "action_answer_faq"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        access = knowledge_access()
        key = chosen_faq_key(tracker)
        entry = access.kb.get(key) if key else None
        if entry is None:
            # The model knows a key the knowledge base does not: retrain or fix data/kb.
            logger.error("No knowledge-base entry for FAQ key %r; run `make validate`", key)
            return say_cannot_help(dispatcher, tracker, access)
        sensitive = rules().sensitive_topic(current_turn(tracker))
        if sensitive:
            return hand_over(dispatcher, tracker, sensitive)
        buttons = [
            faq_button(follow_up.key, follow_up.question)
            for follow_up in (access.kb.get(k) for k in entry.follow_ups)
            if follow_up
        ]
        dispatcher.utter_message(text=entry.answer_for(known_entities(tracker)), buttons=buttons)
        # for the event log: which entry answered (the gateway does not show this to the customer)
        report(dispatcher, tracker, "bot_answer", kb_key=entry.key)
        return [SlotSet(FAILURE_SLOT, 0.0)]
