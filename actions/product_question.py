"""Questions about a product itself (price, size, stock, what is in the box, "is this X?").

The bot says honestly that it cannot answer them yet and offers the product's page and a person.
The product catalog comes later: `ProductCatalog` is its place, and `answer_from_catalog` is asked
first, so a catalog that can answer takes over without touching the rule or the action.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import HANDOFF_BUTTON, report


class ProductCatalog(Protocol):
    """What the bot will ask a product catalog: an answer to a question about a product, or None."""

    def answer(self, question: str, product: Dict[str, str]) -> Optional[str]:
        """A customer-facing answer, or None when the catalog does not know."""


class NoCatalog:
    """Today's catalog: it knows nothing, so every question goes to the page or a person."""

    def answer(self, question: str, product: Dict[str, str]) -> Optional[str]:
        return None


def product_reference(tracker: Tracker) -> Dict[str, str]:
    """What identifies the product: a pasted link or card, the page the widget is on, a product entity."""
    reference: Dict[str, str] = {}
    for card in (tracker.latest_message.get("shop_message") or {}).get("cards") or []:
        if card.get("url"):
            reference.setdefault("url", str(card["url"]))
        if card.get("product_id"):
            reference.setdefault("product_id", str(card["product_id"]))
    metadata = tracker.latest_message.get("metadata") or {}
    if metadata.get("page_url"):
        reference.setdefault("url", str(metadata["page_url"]))
    product = next(tracker.get_latest_entity_values("product"), None) or tracker.get_slot("product")
    if product:
        reference["name"] = str(product)
    return reference


def answer_from_catalog(catalog: ProductCatalog, tracker: Tracker) -> Optional[str]:
    """The catalog's answer to this message, if it has one."""
    return catalog.answer(str(tracker.latest_message.get("text") or ""), product_reference(tracker))


class ActionProductQuestion(Action):
    """Answers from the catalog when it can; otherwise the product page and a person."""

    catalog: ProductCatalog = NoCatalog()

    def name(self) -> str:
        return "action_product_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        answer = answer_from_catalog(self.catalog, tracker)
        if answer:
            dispatcher.utter_message(text=answer)
            report(dispatcher, tracker, "bot_answer", route="product")
            return []
        url = product_reference(tracker).get("url")
        text = (
            "商品的规格、价格、库存和使用方法，以商品详情页为准，我这里暂时还查不到。"
            + (f"\n商品页面：{url}" if url else "\n您可以打开商品详情页查看“规格参数”和“商品介绍”。")
            + "\n也可以转人工客服，由商品顾问为您解答。"
        )
        dispatcher.utter_message(text=text, buttons=[HANDOFF_BUTTON])
        # not answered: for the deflection figures this is a turn the bot could not help with
        report(dispatcher, tracker, "fallback", route="product")
        return []
