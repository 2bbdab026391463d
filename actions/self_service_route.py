"""Self-service for messages the classifier read as something else: an unsure reading or a knowledge-base entry
can still be a request about the customer's own order (电话填错了, 我要退货; actions/order_routes.py) or a
question the product catalog answers (有货吗, 这个保修多久 on a product page). The knowledge-base answer and the
"您是想问" suggestions ask here first."""

from __future__ import annotations

from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction

from actions.order_routes import order_task_for, start_order_task
from actions.product_question import context_products, products_not_in_catalog, question_text
from catalog.answerer import ANSWERED, WHICH_PRODUCT, answer_question
from catalog.lookup import shop_catalog

PRODUCT_ACTION = "action_product_question"
# knowledge-base entries whose question, about one product, the catalog answers better (这个保修多久)
PRODUCT_ENTRIES = ("warranty_policy", "shop_restock_notice")


def catalog_answers(tracker: Tracker) -> bool:
    """The product catalog can answer this message about a product it knows (named, or the page's), or only
    needs to know which of its products (充电宝保修吗: which power bank?)."""
    catalog = shop_catalog()
    reply = answer_question(question_text(tracker), catalog, context_products(tracker, catalog),
                            products_not_in_catalog(tracker, catalog))
    return reply.outcome == ANSWERED or (reply.outcome == WHICH_PRODUCT and bool(reply.candidates))


def route_unsure(tracker: Tracker) -> List[EventType]:
    """For an unsure reading: an order task, or the product's answer; [] when neither fits."""
    task = order_task_for(tracker)
    if task:
        return start_order_task(task)
    return [FollowupAction(PRODUCT_ACTION)] if catalog_answers(tracker) else []


def route_entry(tracker: Tracker, key: str) -> List[EventType]:
    """For a knowledge-base entry about one product, when the catalog knows the product: its own answer."""
    return [FollowupAction(PRODUCT_ACTION)] if key in PRODUCT_ENTRIES and catalog_answers(tracker) else []
