"""Builds rasa-sdk trackers the way the action server receives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import knowledge_access

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def access():
    return knowledge_access()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    text: str = "",
    intent: str = "faq",
    confidence: float = 0.9,
    ranking: Optional[List[Dict[str, Any]]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    faq_key: Optional[str] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    """A tracker whose latest message looks like the Rasa server's parse of `text`."""
    latest: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking or [],
        "entities": entities or [],
        "metadata": metadata or {},
    }
    if faq_key:
        latest["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {"intent_response_key": f"faq/{faq_key}", "confidence": confidence},
                "ranking": [],
            },
        }
    return Tracker(
        sender_id="test-customer",
        slots={"failure_count": 0.0, **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def entity(name: str, value: str) -> Dict[str, Any]:
    return {"entity": name, "value": value, "extractor": "RegexEntityExtractor"}
