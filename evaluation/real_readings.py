"""How an NLU reading of a real message compares with what the bot should do with it (the labels).

A reading is the classifier's best label: `faq/<key>` reads as answering that entry, `order_problem`
as the order route, chit-chat intents as chit-chat, the escalation intents as a person, and so on.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from core.settings import settings
from evaluation.behaviour_score import outcome
from evaluation.gateway_observer import Observation
from evaluation.real_messages import LabelledMessage

CHITCHAT = ("greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "inform")
ESCALATING = ("request_human", "complaint", "refund_dispute", "legal_threat")
# what the bot does on each other reading (out_of_scope: it says it cannot help)
ROUTES = {"order_problem": "order", "product_question": "product", "out_of_scope": "cannot_help", "card": "card"}


def reading_behaviour(label: str) -> Tuple[str, Optional[str]]:
    """The behaviour a reading leads to, as the gateway observer names it."""
    if label.startswith("faq/"):
        key = label.split("/", 1)[1]
        # the price-policy entry is the bot's answer to bargaining (settings.yml: bargaining.policy_entry)
        return ("bargain", None) if key == settings()["bargaining"]["policy_entry"] else ("answer", key)
    if label in CHITCHAT:
        return "chitchat", None
    if label in ESCALATING:
        return "escalate", None
    return ROUTES.get(label, label), None


def reading_is_right(message: LabelledMessage, label: str) -> bool:
    """Whether acting on this reading would be right, scored as the product's behaviour is scored."""
    behaviour, detail = reading_behaviour(label)
    return outcome(message, Observation(behaviour, detail)) == "right"


def calibration_table(confidences: Sequence[float], right: Sequence[bool], edges: Sequence[float]) -> List[Dict]:
    """Per confidence bin: how many readings, and the share of them that were right."""
    rows = []
    for low, high in zip(edges, edges[1:], strict=False):
        inside = [
            r for c, r in zip(confidences, right, strict=True) if low <= c < high or (high == edges[-1] and c == high)
        ]
        rows.append({"low": low, "high": high, "n": len(inside),
                     "accuracy": sum(inside) / len(inside) if inside else None})
    return rows
