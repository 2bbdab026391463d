"""What the bot understood, message by message, read from Rasa's tracker events.

Used by the escalation action (from its tracker) and by the gateway (from
Rasa's HTTP API) to give the agent each customer message with its intent,
confidence, entities and the knowledge-base entries shown.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, Optional

FAQ_INTENT = "faq"
FAQ_KEY_ENTITY = "faq_key"


def _faq_keys_in(payload: str) -> List[str]:
    prefix = f"/{FAQ_INTENT}"
    if not payload.startswith(prefix):
        return []
    try:
        return [str(json.loads(payload[len(prefix):]).get(FAQ_KEY_ENTITY))]
    except (ValueError, AttributeError):
        return []


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


def transcript_from_events(events: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The conversation in Rasa's tracker events, each customer message with the bot's reading of it."""
    lines: List[Dict[str, Any]] = []
    reading: Optional[Dict[str, Any]] = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            reading = reading_from_parse(event.get("parse_data") or {})
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
