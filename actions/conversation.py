"""Names shared by the actions and domain.yml, and small readers of the tracker."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker

from core.reading import FAQ_INTENT, FAQ_KEY_ENTITY, faq_payload

FAILURE_SLOT = "failure_count"
# entities an answer variant may use; the same names are slots, so a value
# given earlier in the conversation is remembered
CONTEXT_ENTITIES = ("order_number", "phone_number", "product")


def failure_count(tracker: Tracker) -> int:
    """Consecutive turns the bot could not help with."""
    value = tracker.get_slot(FAILURE_SLOT)
    return int(value or 0)


def known_entities(tracker: Tracker) -> Dict[str, str]:
    """Entity values from this message, falling back to what earlier turns set."""
    values: Dict[str, str] = {}
    for name in CONTEXT_ENTITIES:
        slot = tracker.get_slot(name)
        if slot:
            values[name] = str(slot)
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") in CONTEXT_ENTITIES and entity.get("value"):
            values[entity["entity"]] = str(entity["value"])
    return values


def chosen_faq_key(tracker: Tracker) -> Optional[str]:
    """The entry the customer picked with a button, or the one NLU selected."""
    picked = next(tracker.get_latest_entity_values(FAQ_KEY_ENTITY), None)
    if picked:
        return str(picked)
    selector = (tracker.latest_message.get("response_selector") or {}).get(FAQ_INTENT) or {}
    response_key = (selector.get("response") or {}).get("intent_response_key") or ""
    prefix = f"{FAQ_INTENT}/"
    return response_key[len(prefix):] if response_key.startswith(prefix) else None


def ranked_faq_keys(tracker: Tracker, min_confidence: float) -> List[Tuple[str, float]]:
    """FAQ keys with their confidences from the classifier's ranking of this message, most likely first."""
    keys = []
    for item in tracker.latest_message.get("intent_ranking") or []:
        response_key: Any = item.get("intent_response_key") or ""
        if response_key.startswith(f"{FAQ_INTENT}/") and item.get("confidence", 0) >= min_confidence:
            keys.append((response_key.split("/", 1)[1], float(item.get("confidence", 0))))
    return keys


# the gateway handles this payload itself (it works while Rasa is down): a person, at once
HANDOFF_BUTTON = {"title": "转人工", "payload": "/handoff"}


def previous_report(tracker: Tracker) -> Dict[str, Any]:
    """What the bot reported of its turn before the customer's latest message (empty when nothing)."""
    users = [i for i, e in enumerate(tracker.events) if e.get("event") == "user"]
    if len(users) < 2:
        return {}
    found: Dict[str, Any] = {}
    for event in tracker.events[users[-2] + 1: users[-1]]:
        if event.get("event") == "bot":
            analytics = ((event.get("data") or {}).get("custom") or {}).get("analytics")
            if analytics:
                found = analytics
    return found


def faq_button(key: str, title: str) -> Dict[str, str]:
    """A button that asks for one entry, whatever words the customer would use."""
    return {"title": title, "payload": faq_payload(key)}


def report(dispatcher: Any, tracker: Tracker, event: str, **fields: Any) -> None:
    """Tells the gateway, for the event log, what this turn did (answered, asked, fell back).

    Sent as a custom message the gateway does not show. The bot's reading of the message comes with
    every reply from Rasa's gateway channel (bot/rasa_channel.py), so it is not repeated here.
    """
    dispatcher.utter_message(json_message={"analytics": {"event": event, **fields}})
