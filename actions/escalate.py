"""Hands the conversation to a person: the rules of handoff/escalation.py applied to the bot's reading.

The action does not tell the customer anything itself: it returns a `handoff`
request (reason, detail, priority and the transcript with what the bot
understood) as a custom message. The gateway writes the ticket first, then
tells the customer honestly what happens next (queue position, or leaving a
message outside business hours).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FAILURE_SLOT, FAQ_INTENT, FAQ_KEY_ENTITY, chosen_faq_key, failure_count
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


def _faq_keys_in(payload: str) -> List[str]:
    prefix = f"/{FAQ_INTENT}"
    if not payload.startswith(prefix):
        return []
    try:
        return [str(json.loads(payload[len(prefix):]).get(FAQ_KEY_ENTITY))]
    except (ValueError, AttributeError):
        return []


def transcript(tracker: Tracker) -> List[Dict[str, Any]]:
    """The conversation so far, each customer message with the bot's reading of it."""
    lines: List[Dict[str, Any]] = []
    reading: Optional[Dict[str, Any]] = None
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            selector = ((parse.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}
            response_key = selector.get("intent_response_key") or ""
            faq_key = next(
                (e.get("value") for e in parse.get("entities") or [] if e.get("entity") == FAQ_KEY_ENTITY),
                response_key.split("/", 1)[1] if "/" in response_key else None,
            )
            name = intent.get("name")
            reading = {
                "intent": f"{FAQ_INTENT}/{faq_key}" if name == FAQ_INTENT and faq_key else name,
                "confidence": round(float(intent.get("confidence") or 0), 3),
                "entities": [
                    {"entity": e.get("entity"), "value": e.get("value")}
                    for e in parse.get("entities") or [] if e.get("entity") != FAQ_KEY_ENTITY
                ],
                "faq_key": faq_key,
                "kb_shown": [],
            }
            lines.append({"sender": "customer", "text": event.get("text") or "", "reading": reading})
        elif kind == "action" and event.get("name") == "action_answer_faq" and reading and reading["faq_key"]:
            reading["kb_shown"].append(reading["faq_key"])
        elif kind == "bot":
            data = event.get("data") or {}
            for button in data.get("buttons") or []:
                if reading is not None:
                    reading["kb_shown"].extend(_faq_keys_in(str(button.get("payload") or "")))
            if event.get("text"):
                lines.append({"sender": "bot", "text": event.get("text")})
    return lines


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, decision: Escalation) -> List[EventType]:
    """Asks the gateway to open a ticket; the failure count starts again."""
    dispatcher.utter_message(json_message={"handoff": {**decision.to_json(), "transcript": transcript(tracker)}})
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
