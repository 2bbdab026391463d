"""Answers the customer's question from the knowledge base."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cannot_help import say_cannot_help
from actions.conversation import (
    FAILURE_SLOT,
    chosen_faq_key,
    faq_button,
    known_entities,
    previous_report,
    report,
)
from actions.escalate import current_turn, hand_over
from actions.knowledge_access import KnowledgeAccess, knowledge_access
from actions.order_replies import task_button
from actions.order_routes import order_task_for, start_order_task
from actions.order_tasks import vocabulary
from actions.self_service_route import route_entry
from core.settings import settings
from handoff.escalation import rules
from knowledge.entry import FaqEntry

logger = logging.getLogger(__name__)


def is_price_policy(key: str) -> bool:
    """The entry that answers bargaining (settings.yml: bargaining.policy_entry)."""
    return key == settings()["bargaining"]["policy_entry"]


def previous_answer(tracker: Tracker) -> Optional[str]:
    """The entry the bot answered the customer's previous message with, if it answered one."""
    report = previous_report(tracker)
    return str(report["kb_key"]) if report.get("event") == "bot_answer" and report.get("kb_key") else None


class ActionAnswerFaq(Action):
    """Sends the entry's answer (using the customer's order number etc. where it can) and its follow-ups.

    A customer who bargains again after the price policy was given goes to a person.
    """

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
        if is_price_policy(entry.key) and previous_answer(tracker) == entry.key:
            return hand_over(dispatcher, tracker, rules().escalate("request_human", "坚持议价（已说明价格政策）"))
        task = order_task_for(tracker, entry.key)
        if task:
            return start_order_task(task)
        product = route_entry(tracker, entry.key)
        if product:
            return product
        return send_answer(dispatcher, tracker, access, entry)


def send_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, access: KnowledgeAccess, entry: FaqEntry
) -> List[EventType]:
    """The entry's answer (with the customer's order number etc. where it can), a button that does it for the
    customer's own order when the bot can (帮我取消订单), and the entry's follow-ups."""
    task = vocabulary().task_for_faq(entry.key)
    buttons = [task_button(task.button, task.name)] if task else []
    buttons += [
        faq_button(follow_up.key, follow_up.question)
        for follow_up in (access.kb.get(k) for k in entry.follow_ups)
        if follow_up
    ]
    dispatcher.utter_message(text=entry.answer_for(known_entities(tracker)), buttons=buttons)
    # for the event log: which entry answered (the gateway does not show this to the customer)
    extra = {"route": "bargain"} if is_price_policy(entry.key) else {}
    report(dispatcher, tracker, "bot_answer", kb_key=entry.key, **extra)
    return [SlotSet(FAILURE_SLOT, 0.0)]
