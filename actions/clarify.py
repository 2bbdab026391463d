"""When NLU is unsure: offer the closest knowledge-base entries as "您是想问…" buttons."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.cannot_help import say_cannot_help
from actions.conversation import FAILURE_SLOT, failure_count, faq_button, ranked_faq_keys, report
from actions.escalate import escalation_for_failure, hand_over
from actions.knowledge_access import knowledge_access
from bot.settings import settings

# reciprocal-rank fusion constant: how much a lower rank still counts
RRF_K = 10


def fuse_rankings(*rankings: List[str]) -> List[str]:
    """Merges ranked key lists by reciprocal rank fusion: agreement beats a single high rank."""
    scores: Dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda k: -scores[k])


class ActionClarify(Action):
    """Suggests up to N entries from the classifier's ranking and the knowledge-base search."""

    def name(self) -> str:
        return "action_clarify"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        config = settings()["clarification"]
        access = knowledge_access()
        limit = int(config["suggestions"])
        text = tracker.latest_message.get("text") or ""
        classifier = [
            k for k in ranked_faq_keys(tracker, float(config["min_confidence"])) if k in access.kb
        ]
        hits = access.search.search(text, limit=limit, min_score=float(config["min_similarity"]))
        keys = fuse_rankings(classifier[:limit], [hit.entry.key for hit in hits])[:limit]
        if not keys:
            return say_cannot_help(dispatcher, tracker, access)
        decision = escalation_for_failure(tracker)
        if decision:
            return hand_over(dispatcher, tracker, decision)
        buttons = [faq_button(key, access.kb.get(key).question) for key in keys]
        buttons.append({"title": "都不是", "payload": "/deny"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        report(dispatcher, tracker, "clarification", suggested=keys)
        return [SlotSet(FAILURE_SLOT, float(failure_count(tracker) + 1))]
