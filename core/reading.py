"""The bot's reading of one customer message, and the payload of a knowledge-base button.

The one owner of both: Rasa's gateway channel (bot/rasa_channel.py) sends the reading with every
reply, the gateway stores it with the customer's message, and the agent's transcript, the event log
and the reports read it from there. The actions build knowledge-base buttons with `faq_payload`.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional

FAQ_INTENT = "faq"
FAQ_KEY_ENTITY = "faq_key"
_FAQ_PREFIX = f"/{FAQ_INTENT}"


def faq_payload(key: str) -> str:
    """The button payload that asks for one knowledge-base entry: `/faq{"faq_key":"<key>"}`."""
    return _FAQ_PREFIX + json.dumps({FAQ_KEY_ENTITY: key}, ensure_ascii=False, separators=(",", ":"))


def faq_key_of_payload(payload: Optional[str]) -> Optional[str]:
    """The entry a `faq_payload` asks for, or None for any other payload."""
    if not payload or not payload.startswith(_FAQ_PREFIX + "{"):
        return None
    try:
        key = json.loads(payload[len(_FAQ_PREFIX):]).get(FAQ_KEY_ENTITY)
    except (ValueError, AttributeError):
        return None
    return str(key) if key else None


def reading_from_parse(parse: Dict[str, Any]) -> Dict[str, Any]:
    """Rasa's parse of one message as the agent and the reports see it: "faq/<key>" for FAQ questions."""
    intent = parse.get("intent") or {}
    selector = ((parse.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}
    response_key = selector.get("intent_response_key") or ""
    faq_key = next(
        (e.get("value") for e in parse.get("entities") or [] if e.get("entity") == FAQ_KEY_ENTITY),
        response_key.split("/", 1)[1] if "/" in response_key else None,
    )
    name = intent.get("name")
    return {
        "intent": f"{FAQ_INTENT}/{faq_key}" if name == FAQ_INTENT and faq_key else name,
        "confidence": round(float(intent.get("confidence") or 0), 3),
        "entities": [
            {"entity": e.get("entity"), "value": e.get("value")}
            for e in parse.get("entities") or [] if e.get("entity") != FAQ_KEY_ENTITY
        ],
        "faq_key": faq_key,
        "kb_shown": [],
    }


def with_entries_shown(reading: Dict[str, Any], shown: Iterable[str]) -> Dict[str, Any]:
    """The reading with the knowledge-base entries the bot's answer showed (answered or offered)."""
    keys: List[str] = []
    for key in shown:
        if key and key not in keys:
            keys.append(key)
    return {**reading, "kb_shown": keys}
