"""The last word on a reading, after the FallbackClassifier: what the message's shape settles, and
readings too far from anything their label was trained on.

1. A message that is only a pasted order card, a product link or the chat page's own text
   (`shop_message.kind` "card" or "page", from the tokenizer) is not classified: its intent is
   `card`, so a word in a product name never picks a knowledge-base entry.
2. The classifiers are closed-set: every message gets some label, and on real messages a shared
   word can give a wrong entry a high confidence. Readings that act on the customer's behalf (a
   knowledge-base answer, a person: `strict_labels`) must meet a stricter confidence
   (`strict_threshold`, and a lead of `strict_margin` over the runner-up) than chit-chat, where a
   misreading costs little and the FallbackClassifier's own threshold applies; and
   LinearIntentClassifier's `intent_support` (how similar the message is to the closest training
   example of the label it chose) must reach `min_support`. A reading that
   fails is read as `nlu_fallback`, exactly as the FallbackClassifier marks an unsure one (the bot
   then asks instead of answering). The values are measured on in-domain and real messages by
   `python -m bench.shop_nlu`.
3. An unsure reading or a plain statement (`own_order_labels`) of a message about the customer's own
   order ("这单能早点发吗", "我昨天拍的还没发货", customer_text/own_order.py, or an order number
   the message's shape found) reads as
   `own_order_intent`: the bot asks which order instead of offering unrelated entries. Confident
   knowledge-base readings keep their answer ("这个订单的发票能换抬头吗" is a policy question).
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from customer_text.own_order import own_order_signs
from nlu_components.linear_intent_classifier import INTENT_SUPPORT
from nlu_components.shop_tokenizer import SHOP_MESSAGE

CARD_INTENT = "card"
# the words that sent an unsure reading to the order route, in the parse; a ranking item the gate
# added says so in SET_BY
ROUTE_SIGNS = "route_signs"
SET_BY = "set_by"
FALLBACK_INTENT = "nlu_fallback"
# readings the gate never questions: the shape or the customer's button already settled them
SETTLED = (CARD_INTENT, FALLBACK_INTENT)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OpenSetGate(GraphComponent):
    """Overrides readings of messages with nothing to classify, and readings without support."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """`strict_labels`: labels (or prefixes ending in /) held to `strict_threshold` and `min_support`,
        the lowest similarity to the label's closest training example (0 = off)."""
        return {
            "strict_labels": ["faq/", "request_human", "complaint", "refund_dispute", "legal_threat"],
            "strict_threshold": 0.0,
            # per-label thresholds instead of strict_threshold, e.g. {complaint: 0.5}
            "label_thresholds": {},
            "strict_margin": 0.0,
            "min_support": 0.0,
            # readings that give way to the order route when the message is about one order ([] = off)
            "own_order_labels": [],
            "own_order_intent": "order_problem",
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        self.strict_labels = tuple(config.get("strict_labels") or ())
        self.strict_threshold = float(config.get("strict_threshold", 0.0))
        self.label_thresholds = {str(k): float(v) for k, v in (config.get("label_thresholds") or {}).items()}
        self.strict_margin = float(config.get("strict_margin", 0.0))
        self.min_support = float(config.get("min_support", 0.0))
        self.own_order_labels = tuple(config.get("own_order_labels") or ())
        self.own_order_intent = str(config.get("own_order_intent") or "order_problem")

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OpenSetGate:
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets `card` where the shape says there is nothing else, `nlu_fallback` where support is low."""
        for message in messages:
            shape = message.get(SHOP_MESSAGE) or {}
            if shape.get("kind") in ("card", "page"):
                reading = {INTENT_NAME_KEY: CARD_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, reading, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [reading], add_to_output=True)
                message.set("response_selector", {}, add_to_output=True)
            elif self._unsure(message):
                fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: self.strict_threshold}
                ranking = [
                    r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT
                ]
                message.set(INTENT, fallback, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
            self._route_own_order(message)
        return messages

    def _route_own_order(self, message: Message) -> None:
        """Reads an unsure reading or a statement about one of the customer's orders as that order's problem."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent not in self.own_order_labels:
            return
        number = (message.get(SHOP_MESSAGE) or {}).get("order_number")
        signs = own_order_signs(message.get("text") or "") + ([str(number)] if number else [])
        if not signs:
            return
        reading = {INTENT_NAME_KEY: self.own_order_intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != self.own_order_intent]
        message.set(INTENT, reading, add_to_output=True)
        # marked, so that measures of the classifier itself can skip what the gate decided
        message.set(INTENT_RANKING_KEY, [{**reading, SET_BY: ROUTE_SIGNS}, *ranking], add_to_output=True)
        message.set(ROUTE_SIGNS, signs[:5], add_to_output=True)

    def is_strict(self, label: str) -> bool:
        """Whether a reading with this label acts on the customer's behalf."""
        return any(label == s or (s.endswith("/") and label.startswith(s)) for s in self.strict_labels)

    def _unsure(self, message: Message) -> bool:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent in SETTLED:
            return False
        ranking = message.get(INTENT_RANKING_KEY) or []
        top = next((r for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT), {})
        label = str(top.get("intent_response_key") or top.get(INTENT_NAME_KEY) or "")
        if not self.is_strict(label):
            return False
        confidences = [float(r.get(PREDICTED_CONFIDENCE_KEY, 0.0)) for r in ranking
                       if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT][:2] + [0.0]
        threshold = self.label_thresholds.get(label, self.strict_threshold)
        if confidences[0] < threshold or confidences[0] - confidences[1] < self.strict_margin:
            return True
        found = message.get(INTENT_SUPPORT) or {}
        return found.get("label") == label and float(found.get("similarity", 1.0)) < self.min_support
