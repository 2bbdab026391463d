"""Questions about a product itself (price, colours, stock, one spec, what is in the box, warranty, two
products compared), answered from the product catalog (catalog/).

Which product: the ones the message names (or a button's choice); a pasted card's product id or link;
the page the widget is on (its `product_id`, else a product name in its title or an id in its link);
the product of an earlier turn. The earlier turn's product comes before the page when it was settled on
this same page: on the earbuds' page, "充电宝多少钱" then "那有白色吗" is about the power bank. A word
several products share (耳机) is settled by those, or the customer picks one from buttons. What the
catalog does not hold is said honestly, with a person offered.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import FAILURE_SLOT, HANDOFF_BUTTON, failure_count, report
from actions.escalate import escalation_for_failure, hand_over
from actions.order_routes import order_task_in_product_question, start_order_task
from catalog.answerer import ANSWERED, NOT_KNOWN, answer_question
from catalog.lookup import (
    product_by_id,
    product_by_title,
    product_in_url,
    product_named,
    products_called,
    products_named_in,
    shop_catalog,
)
from catalog.model import Catalog, Product

PRODUCT_SLOT = "product"
PRODUCT_INTENT = "product_question"
ROUTE = {"route": "product", "self_service": "product"}
PAGE_KEYS = ("product_id", "page_title", "page_url")


def product_button(product: Product) -> Dict[str, str]:
    """A button that asks the same question about this product: `/product_question{"product": "<name>"}`."""
    entities = json.dumps({PRODUCT_SLOT: product.name}, ensure_ascii=False)
    return {"title": product.name, "payload": f"/{PRODUCT_INTENT}{entities}"}


def question_text(tracker: Tracker) -> str:
    """What the customer asked: the message, or for a button's payload the message typed before it."""
    text = str(tracker.latest_message.get("text") or "")
    if not text.startswith("/"):
        return text
    typed = [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
    if typed and typed[-1] == text:
        typed.pop()
    return typed[-1] if typed and not typed[-1].startswith("/") else ""


def _one(products: Sequence[Product]) -> Optional[Product]:
    return products[0] if len(products) == 1 else None


def products_not_in_catalog(tracker: Tracker, catalog: Catalog) -> List[str]:
    """The message's `product` entities that name no catalog product (iPhone 15 in a shop without it)."""
    values = dict.fromkeys(str(v) for v in tracker.get_latest_entity_values(PRODUCT_SLOT))
    return [v for v in values if not products_called(v, catalog)]


def chosen_products(tracker: Tracker, catalog: Catalog) -> List[Product]:
    """Products the message's `product` entities name exactly (a button's choice)."""
    found = (product_named(str(v), catalog) for v in tracker.get_latest_entity_values(PRODUCT_SLOT))
    return [p for p in found if p]


def card_products(tracker: Tracker, catalog: Catalog) -> List[Product]:
    """Products of pasted product cards and links: by product id or SKU, link, or the card's product name."""
    found: List[Optional[Product]] = []
    for card in (tracker.latest_message.get("shop_message") or {}).get("cards") or []:
        if card.get("product_id"):
            found.append(product_by_id(str(card["product_id"]), catalog))
        if card.get("url"):
            found.append(product_in_url(str(card["url"]), catalog))
        if card.get("product_name"):
            name = str(card["product_name"])
            found.append(product_by_title(name, catalog) or _one(products_named_in(name, catalog)))
    return [p for p in found if p]


def page_product(metadata: Dict[str, Any], catalog: Catalog) -> Optional[Product]:
    """The product of the page the widget is on: its `product_id`, a product name in its title, an id in its link."""
    if metadata.get("product_id"):
        product = product_by_id(str(metadata["product_id"]), catalog)
        if product:
            return product
    if metadata.get("page_title"):
        product = product_by_title(str(metadata["page_title"]), catalog)
        if product:
            return product
    return product_in_url(str(metadata["page_url"]), catalog) if metadata.get("page_url") else None


def _one_product(value: Any, catalog: Catalog) -> Optional[Product]:
    if not value:
        return None
    return product_named(str(value), catalog) or _one(products_named_in(str(value), catalog))


def earlier_product(tracker: Tracker, catalog: Catalog) -> Tuple[Optional[Product], Optional[int]]:
    """The product an earlier turn settled on, and the index of the event that set it (None if unknown).

    The `product` slot, or the latest earlier value of it that names one product: NLU fills the slot with
    the words of each message too, and 充电宝 names three.
    """
    events = tracker.events or []
    set_events = [
        (i, e.get("value")) for i, e in enumerate(events) if e.get("event") == "slot" and e.get("name") == PRODUCT_SLOT
    ]
    current = tracker.get_slot(PRODUCT_SLOT)
    product = _one_product(current, catalog)
    if product:
        index = next((i for i, value in reversed(set_events) if value == current), None)
        return product, index
    for index, value in reversed(set_events):
        product = _one_product(value, catalog)
        if product:
            return product, index
    return None, None


def _page_of(metadata: Dict[str, Any]) -> Tuple[str, ...]:
    return tuple(str(metadata.get(key) or "") for key in PAGE_KEYS)


def set_on_this_page(tracker: Tracker, index: Optional[int]) -> bool:
    """Whether the event at `index` came while the customer was on the page they are on now."""
    if index is None:
        return False
    before = [e for e in (tracker.events or [])[:index] if e.get("event") == "user"]
    if not before:
        return False
    now = tracker.latest_message.get("metadata") or {}
    return _page_of(before[-1].get("metadata") or {}) == _page_of(now)


def context_products(tracker: Tracker, catalog: Catalog) -> List[Product]:
    """Products known from outside the message's words, the most relevant first."""
    page = page_product(tracker.latest_message.get("metadata") or {}, catalog)
    earlier, index = earlier_product(tracker, catalog)
    ordered = [earlier, page] if set_on_this_page(tracker, index) else [page, earlier]
    return [*chosen_products(tracker, catalog), *card_products(tracker, catalog), *(p for p in ordered if p)]


class ActionProductQuestion(Action):
    """Answers from the catalog; asks which product when it cannot tell; says so when the catalog does not know."""

    def name(self) -> str:
        return "action_product_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        task = order_task_in_product_question(tracker)
        if task:
            # about an order of the product, not the product (保温杯想退货, 扫地机充不进电了)
            return start_order_task(task)
        catalog = shop_catalog()
        context = context_products(tracker, catalog)
        reply = answer_question(question_text(tracker), catalog, context, products_not_in_catalog(tracker, catalog))
        events: List[EventType] = [SlotSet(PRODUCT_SLOT, reply.product.name)] if reply.product else []
        if reply.outcome == ANSWERED:
            dispatcher.utter_message(text=reply.text)
            report(dispatcher, tracker, "bot_answer", **ROUTE, attribute=reply.attribute)
            return [*events, SlotSet(FAILURE_SLOT, 0.0)]
        decision = escalation_for_failure(tracker)
        if decision:
            # too many turns in a row without an answer: a person (settings.yml escalation.max_failures)
            return [*events, *hand_over(dispatcher, tracker, decision)]
        if reply.outcome == NOT_KNOWN:
            dispatcher.utter_message(text=reply.text, buttons=[HANDOFF_BUTTON])
            report(dispatcher, tracker, "fallback", **ROUTE, attribute=reply.attribute, outcome="unknown")
        else:
            # which product (or, for a product alone, what about it): a question back
            buttons = [product_button(p) for p in reply.candidates]
            dispatcher.utter_message(text=reply.text, buttons=[*buttons, HANDOFF_BUTTON])
            report(dispatcher, tracker, "clarification", suggested=[], **ROUTE, attribute=reply.attribute)
        return [*events, SlotSet(FAILURE_SLOT, float(failure_count(tracker) + 1))]
