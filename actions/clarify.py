"""When NLU is unsure: offer the knowledge-base entries that plausibly fit, or ask a focused question.

An entry is offered only when the classifier ranks it (`clarification.min_confidence`) and the
knowledge-base search finds the message near it too (`search_floor`), or when the search alone finds
it very close (`min_similarity`); three unrelated "您是想问…" buttons help nobody. On real messages
the search alone was almost never right (docs/benchmarks.md). With nothing plausible the bot asks what the customer
means, pointed at what the message seems to be about (an order, a product), and offers a person.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer_faq import previous_answer, send_answer
from actions.conversation import (
    FAILURE_SLOT,
    HANDOFF_BUTTON,
    failure_count,
    faq_button,
    ranked_faq_keys,
    report,
)
from actions.escalate import escalation_for_failure, hand_over
from actions.knowledge_access import knowledge_access
from actions.self_service_route import route_unsure
from core.settings import settings

# reciprocal-rank fusion constant: how much a lower rank still counts
RRF_K = 10
# an unsure reading that points at an order or a product goes there: which order? which product?
FOCUSED_ACTIONS = {"order_problem": "order_problem_form", "product_question": "action_product_question"}
# a short follow-up about the answer just given ("怎么改呢", "在哪里申请") is about that entry
FOLLOW_UP_WORDS = ("怎么", "在哪", "哪里", "如何", "然后呢", "咋", "啥意思", "什么意思", "具体")
FOLLOW_UP_MAX_CHARS = 10
GENERIC_QUESTION = "抱歉，我没太明白您的意思。能具体说说吗？比如是哪个订单、遇到了什么问题，或者想了解哪件商品。"


def fuse_rankings(*rankings: List[str]) -> List[str]:
    """Merges ranked key lists by reciprocal rank fusion: agreement beats a single high rank."""
    scores: Dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda k: -scores[k])


def plausible_keys(
    classifier: Dict[str, float], searched: Dict[str, float], min_similarity: float, sure: float, limit: int,
) -> List[str]:
    """Entries that the classifier and the search both rank, that the classifier alone ranks at least
    `sure`, or that the search alone finds very close (`min_similarity`); classifier candidates first."""
    ranked = sorted(classifier, key=lambda k: -classifier[k])[:limit]
    fused = fuse_rankings(ranked, list(searched))
    return [
        k for k in fused
        if searched.get(k, 0.0) >= min_similarity or (k in ranked and (k in searched or classifier[k] >= sure))
    ][:limit]


def message_hint(tracker: Tracker, min_confidence: float) -> Optional[str]:
    """What the unsure reading points at: its best label, if that is an order problem or a product question
    read with at least `min_confidence`."""
    for item in tracker.latest_message.get("intent_ranking") or []:
        name = item.get("name")
        if name in ("nlu_fallback",):
            continue
        return name if name in FOCUSED_ACTIONS and float(item.get("confidence", 0)) >= min_confidence else None
    return None


def follow_up_of(tracker: Tracker) -> Optional[str]:
    """The entry just answered, when this message is a short question about it."""
    text = "".join(str(tracker.latest_message.get("text") or "").split())
    if len(text) > FOLLOW_UP_MAX_CHARS or not any(word in text for word in FOLLOW_UP_WORDS):
        return None
    return previous_answer(tracker)


class ActionClarify(Action):
    """Suggests up to N plausible entries, or asks a focused question."""

    def name(self) -> str:
        return "action_clarify"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        config = settings()["clarification"]
        hint = message_hint(tracker, float(config["min_confidence"]))
        if hint:
            # the best reading is an order problem or a product question, only not sure enough
            return [FollowupAction(FOCUSED_ACTIONS[hint])]
        routed = route_unsure(tracker)
        if routed:
            # its words ask something of the customer's order (电话填错了), or the catalog answers it (有货吗)
            return routed
        access = knowledge_access()
        previous = follow_up_of(tracker)
        if previous and previous in access.kb:
            return send_answer(dispatcher, tracker, access, access.kb.get(previous))
        limit = int(config["suggestions"])
        text = tracker.latest_message.get("text") or ""
        classifier = {
            k: c for k, c in ranked_faq_keys(tracker, float(config["min_confidence"])) if k in access.kb
        }
        hits = access.search.search(text, limit=limit * 2, min_score=float(config["search_floor"]))
        keys = plausible_keys(
            classifier, {h.entry.key: h.score for h in hits}, float(config["min_similarity"]),
            float(config["sure_candidate"]), limit,
        )
        decision = escalation_for_failure(tracker)
        if decision:
            return hand_over(dispatcher, tracker, decision)
        if not keys:
            dispatcher.utter_message(text=GENERIC_QUESTION, buttons=[HANDOFF_BUTTON])
            report(dispatcher, tracker, "clarification", suggested=[], route="ask")
            return [SlotSet(FAILURE_SLOT, float(failure_count(tracker) + 1))]
        buttons = [faq_button(key, access.kb.get(key).question) for key in keys]
        buttons.append({"title": "都不是", "payload": "/deny"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        report(dispatcher, tracker, "clarification", suggested=keys)
        return [SlotSet(FAILURE_SLOT, float(failure_count(tracker) + 1))]
